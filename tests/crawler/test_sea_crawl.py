"""A real crawl of the South-East Asian storefronts with the sea_shop spider (Scrapy in a
subprocess): every reachable infringing listing is collected, its price read in the storefront's
own format, robots.txt obeyed and malformed pages counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from protego import Protego

from fixtures.marketplaces import running_marketplaces, watch_terms

RUNNER = Path(__file__).resolve().parent / "crawl_runner.py"
REPO = RUNNER.parents[2]
UA = "markwatch-test (+https://github.com/markwatch/markwatch)"
CODES = ("sea_th", "sea_id")


@pytest.mark.slow
def test_sea_storefronts_are_crawled_with_local_prices(tmp_path: Path) -> None:
    with running_marketplaces(port=0, seed=11, listings=300, sea_listings=1500,
                              record_requests=True) as mp:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = {}
        for code in CODES:
            watches = ["|".join(t) for t in watch_terms(code).values()]
            out = tmp_path / f"{code}.jsonl"
            procs[code] = (out, subprocess.Popen(
                [sys.executable, str(RUNNER), f"sea_shop:{code}", mp[code], str(out), *watches],
                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for code, (_, p) in procs.items():
            try:
                _, err = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                pytest.fail(f"{code} crawl did not finish")
            assert p.returncode == 0, err.decode()[-3000:]
        requests = list(mp.requests)
        shops = mp.shops
        labels = mp.catalogue.labels_by_key()
        robots = Protego.parse(next(iter(mp.shops.values())).robots())

    for code, (out, _) in procs.items():
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        items = {r["listing_id"]: r for r in rows if r["kind"] == "item"}
        stats = [r for r in rows if r["kind"] == "stats"]
        shop = shops[code]
        reachable = {li.listing_id for terms in watch_terms(code).values() for t in terms
                     for li in shop.search(t)[: 20 * shop.page_size]}
        broken = {lid for lid in reachable if shop.by_id[lid].broken}
        expected = {lid for lid in reachable - broken if labels[(code, lid)].infringing}
        assert expected and not expected - set(items), code
        assert set(items) <= reachable - broken
        for lid, it in items.items():
            li = shop.by_id[lid]
            assert it["marketplace"] == code and it["title"] == li.title
            assert it["price"] == str(li.price) and it["currency"] == li.currency
            assert it["seller"] == li.seller and it["category"] == li.category
            assert it["condition"] == li.condition and it["images"]
        assert sum(s.get("markwatch/parse_errors", 0) for s in stats) == len(broken)
    # one site: robots.txt at its root, obeyed; the one-off 429 retried
    mine = [(path, status) for c, _, path, status in requests if c == "sea"]
    assert ("/robots.txt", 200) in mine
    assert all(robots.can_fetch("http://x" + p, UA) for p, _ in mine)
    throttled = [p for p, s in mine if s == 429]
    ok = Counter(p for p, s in mine if s == 200)
    assert throttled and all(ok[p] for p in throttled)
