"""The South-East Asian test marketplace: deterministic, labelled, local prices and words, served
as one site with a storefront per country."""

from __future__ import annotations

import json
import random
import re
import unicodedata
import urllib.error
import urllib.request
from collections import Counter
from decimal import Decimal

import pytest

from crawler.prices import parse_money
from fixtures.marketplaces import running_marketplaces, watch_terms, write
from fixtures.marketplaces.disguises import INDEPENDENT_DISGUISES
from fixtures.marketplaces.generator import INFRINGING, shops
from fixtures.marketplaces.sea import (
    STOREFRONTS,
    display_price,
    generate_sea,
    sea_vocabulary,
    storefronts,
)
from fixtures.marketplaces.sea_shop import SeaMarketplace

SEED, COUNT = 20261124, 800
THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.fixture(scope="module")
def cat():
    return generate_sea(SEED, COUNT)


def test_same_seed_same_bytes_other_seed_other_listings(tmp_path) -> None:
    a, b = generate_sea(SEED, COUNT), generate_sea(SEED, COUNT)
    write(a, tmp_path / "a")
    write(b, tmp_path / "b")
    for name in ("listings.jsonl", "labels.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert [li.title for li in generate_sea(SEED + 1, COUNT).listings] != [
        li.title for li in a.listings]
    with pytest.raises(ValueError):
        generate_sea(SEED, 99)


def test_every_storefront_has_its_country_currency_and_the_mix(cat) -> None:
    assert [lab.marketplace for lab in cat.labels] and len(cat.listings) == COUNT
    info = shops()
    assert {c: info[c].country for c in STOREFRONTS} == {
        "sea_th": "TH", "sea_vn": "VN", "sea_id": "ID", "sea_my": "MY", "sea_ph": "PH"}
    for code in STOREFRONTS:
        mine = [lab for lab in cat.labels if lab.marketplace == code]
        kinds = Counter(lab.category for lab in mine)
        assert {"counterfeit_exact", "counterfeit_disguised", "product", "brand_abuse",
                "other_class", "unrelated", "compatible", "compatible_fashion"} <= set(kinds), code
        assert {li.currency for li in cat.for_shop(code)} == {info[code].currency}
        assert all(lab.infringing == (lab.category in INFRINGING) for lab in mine)
    ids = [(li.marketplace, li.listing_id) for li in cat.listings]
    assert len(ids) == len(set(ids))


def test_listings_are_written_in_the_storefronts_languages(cat) -> None:
    sv = sea_vocabulary()
    for code, front in storefronts().items():
        if front.lang == "fil":
            continue
        nouns = {n for ns in sv["nouns"][front.lang].values() for n in ns}
        titles = [li.title for li, lab in zip(cat.listings, cat.labels, strict=True)
                  if li.marketplace == code and lab.category in ("counterfeit_exact", "product")]
        assert titles and all(any(n in t for n in nouns) for t in titles), code
    vietnamese = [li.title for li in cat.for_shop("sea_vn")]
    assert sum(bool(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệ]", t, re.I)) for t in vietnamese) \
        >= 0.8 * len(vietnamese)
    thai = [li.title for li in cat.for_shop("sea_th")]
    assert sum(bool(THAI.search(t)) for t in thai) >= 0.8 * len(thai)


def test_thai_spellings_carry_no_latin_mark(cat) -> None:
    thai = [(li, lab) for li, lab in zip(cat.listings, cat.labels, strict=True)
            if lab.disguise in ("alias_thai", "translit_thai")]
    assert len(thai) >= 10 and {lab.disguise for _, lab in thai} == {"alias_thai", "translit_thai"}
    for li, lab in thai:
        assert li.marketplace == "sea_th" and lab.infringing and THAI.search(li.title)
        assert not re.search(r"kestrel|aurelia|voltaris|molang", li.title, re.I), li.title


def test_counterfeit_words_and_compatibility_words_of_the_markets(cat) -> None:
    sv = sea_vocabulary()
    pairs = list(zip(cat.listings, cat.labels, strict=True))
    for code, front in storefronts().items():
        cues = sv["cues"][front.lang]
        fakes = [li.title for li, lab in pairs if li.marketplace == code
                 and lab.category == "counterfeit_exact"]
        assert sum(any(c in t for c in cues) for t in fakes) >= 0.5 * len(fakes), code
        compat = [li.title for li, lab in pairs if li.marketplace == code
                  and lab.category in ("compatible", "compatible_fashion")]
        assert compat and all(any(f" {w} " in f" {t} " for w in sv["storefronts"][code]["compat"])
                              for t in compat), code
    # hard negatives: accessories of class 9 and 3 marks are not infringing
    assert {lab.mark_registration for _, lab in pairs if lab.category == "compatible"} == {
        "40201912345Q", "41234567"}


def test_independent_disguises_are_drawn_on_every_storefront(cat) -> None:
    # about three per watched (mark, storefront), each slot walking its own shuffled cycle
    per_front = {code: Counter(lab.disguise for lab in cat.labels if lab.marketplace == code
                               and (lab.disguise or "").startswith("indep_"))
                 for code in STOREFRONTS}
    assert set().union(*per_front.values()) == set(INDEPENDENT_DISGUISES)
    for code, kinds in per_front.items():
        assert len(kinds) >= 4 and sum(kinds.values()) >= 10, code


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("1250000", "IDR", "Rp 1.250.000"),
    ("1290", "THB", "฿1,290"),
    ("1290.50", "THB", "฿1,290.50"),
    ("1290000", "VND", "1.290.000₫"),
    ("89.90", "MYR", "RM 89.90"),
    ("1089.90", "MYR", "RM 1,089.90"),
    ("1299.00", "PHP", "₱1,299.00"),
])
def test_prices_are_shown_in_each_countrys_format(amount, currency, shown) -> None:
    assert display_price(Decimal(amount), currency) == shown
    assert parse_money(shown) == (Decimal(amount), currency)


def test_every_generated_price_reads_back(cat) -> None:
    for li in cat.listings:
        shown = display_price(li.price, li.currency)
        assert parse_money(shown).amount == li.price, shown
    with pytest.raises(ValueError):
        display_price(Decimal(1), "XXX")


def test_infringing_listings_are_found_by_their_watch_terms(cat) -> None:
    site = SeaMarketplace(cat.listings)
    labels = cat.labels_by_key()
    for code in STOREFRONTS:
        front = site.fronts[storefronts()[code].prefix]
        found = {li.listing_id for terms in watch_terms(code).values() for t in terms
                 for li in front.search(t)}
        infringing = {lid for (m, lid), lab in labels.items() if m == code and lab.infringing}
        assert infringing <= found, code


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_served_beside_the_three_shops_with_a_path_per_storefront(tmp_path) -> None:
    with running_marketplaces(port=0, seed=7, listings=300, sea_listings=300,
                              data_dir=tmp_path) as mp:
        assert list(mp.urls)[:3] == ["shopa", "shopb", "shopc"]
        assert {c: mp.urls[c].rsplit("/", 1)[1] for c in STOREFRONTS} == {
            "sea_th": "th", "sea_vn": "vn", "sea_id": "id", "sea_my": "my", "sea_ph": "ph"}
        site = mp.urls["sea_th"].rsplit("/", 1)[0]
        assert _get(site + "/healthz") == (200, '{"status":"ok"}')
        assert "Disallow: /_control/" in _get(site + "/robots.txt")[1]
        li = next(li for li in mp.catalogue.listings
                  if li.marketplace == "sea_id" and not li.broken and li.vanishes_on_day is None)
        status, page = _get(f"{mp.urls['sea_id']}/product/{li.listing_id}")
        assert status == 200 and 'lang="id"' in page
        assert f'data-currency="IDR">{display_price(li.price, "IDR")}<' in page
        # a listing belongs to its own storefront only
        assert _get(f"{mp.urls['sea_th']}/product/{li.listing_id}")[0] == 404
        status, page = _get(f"{mp.urls['sea_id']}/search?keyword=kestrel")
        assert status == 200 and "/id/product/" in page and "/th/product/" not in page
        # the first request for page 2 is throttled once
        assert _get(f"{mp.urls['sea_id']}/search?keyword=kestrel&page=2")[0] == 429
        assert _get(f"{mp.urls['sea_id']}/search?keyword=kestrel&page=2")[0] == 200
        gone = next(li for li in mp.catalogue.listings
                    if li.marketplace.startswith("sea_") and li.vanishes_on_day == 1)
        url = f"{mp.urls[gone.marketplace]}/product/{gone.listing_id}"
        assert _get(url)[0] == 200
        req = urllib.request.Request(site + "/_control/advance-day", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read())["day"] == 1
        assert _get(url)[0] == 404
        broken = [li for li in mp.catalogue.listings
                  if li.marketplace.startswith("sea_") and li.broken]
        assert {li.broken for li in broken} == {"missing_price", "truncated"}
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert Counter(r["marketplace"][:4] for r in labels) == {"shop": 300, "sea_": 300}


def test_text_is_nfc_and_has_no_stray_spaces(cat) -> None:
    rng = random.Random(1)
    pairs = [(li, lab) for li, lab in zip(cat.listings, cat.labels, strict=True)
             if not (lab.disguise or "").startswith("indep_")]  # those may combine on purpose
    for li, _lab in rng.sample(pairs, 300):
        assert unicodedata.normalize("NFC", li.title) == li.title
        assert li.title == " ".join(li.title.split())


def test_generate_command_writes_the_sea_listings_too(tmp_path) -> None:
    from click.testing import CliRunner

    from markwatch.cli import main

    out = CliRunner().invoke(main, ["marketplaces", "generate", "--out", str(tmp_path),
                                    "--listings", "300", "--sea-listings", "200"])
    assert out.exit_code == 0, out.output
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert Counter(r["marketplace"][:4] for r in labels) == {"shop": 300, "sea_": 200}
    bad = CliRunner().invoke(main, ["marketplaces", "generate", "--out", str(tmp_path),
                                    "--sea-listings", "50"])
    assert bad.exit_code != 0 and "at least 100" in bad.output


def test_sea_listings_setting_is_zero_or_a_hundred_and_more(monkeypatch) -> None:
    from pydantic import ValidationError

    from markwatch.settings import Settings

    assert Settings(marketplaces_sea_listings=0).marketplaces_sea_listings == 0
    assert Settings(marketplaces_sea_listings=100).marketplaces_sea_listings == 100
    with pytest.raises(ValidationError, match="at least 100"):
        Settings(marketplaces_sea_listings=50)
