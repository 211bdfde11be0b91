"""One real crawl: the generic spider reading the three bundled shops' profiles, in Scrapy
subprocesses, against the test marketplaces."""

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
from fixtures.marketplaces.profiles import CODES, DIRECTORY

RUNNER = Path(__file__).resolve().parent / "crawl_runner.py"
REPO = RUNNER.parents[2]
UA = "markwatch-test (+https://github.com/markwatch/markwatch)"  # as in crawl_runner.py
MAX_PAGES = 20


@pytest.mark.slow
def test_profiles_collect_every_reachable_infringing_listing(tmp_path: Path) -> None:
    with running_marketplaces(port=0, seed=7, listings=600, record_requests=True) as mp:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = {}
        for code in CODES:
            watches = ["|".join(t) for t in watch_terms(code).values()]
            out = tmp_path / f"{code}.jsonl"
            procs[code] = (
                out,
                subprocess.Popen(
                    [sys.executable, str(RUNNER), str(DIRECTORY / f"{code}.toml"), mp[code], str(out),
                     *watches],
                    env=env,
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                ),
            )
        for code, (_, p) in procs.items():
            try:
                _, err = p.communicate(timeout=110)
            except subprocess.TimeoutExpired:
                p.kill()
                pytest.fail(f"{code} crawl did not finish")
            assert p.returncode == 0, err.decode()[-3000:]
        requests = list(mp.requests)
        shops = mp.shops
        cat = mp.catalogue

    labels = cat.labels_by_key()
    for code, (out, _) in procs.items():
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        items = {r["listing_id"]: r for r in rows if r["kind"] == "item"}
        stats = [r for r in rows if r["kind"] == "stats"]
        shop = shops[code]
        reachable = set()
        for terms in watch_terms(code).values():
            for term in terms:
                hits = shop.search(term)[: MAX_PAGES * shop.page_size]
                reachable |= {li.listing_id for li in hits}
        broken = {lid for lid in reachable if shop.by_id[lid].broken}
        expected = {lid for lid in reachable - broken if labels[(code, lid)].infringing}
        assert expected, code
        missing = expected - set(items)
        assert not missing, f"{code}: {len(missing)} infringing listings not collected"
        assert set(items) <= reachable - broken  # keyword searches, not a site crawl
        for lid, it in items.items():
            li = shop.by_id[lid]
            assert it["marketplace"] == code
            assert it["title"] == li.title and it["seller"] == li.seller
            assert it["price"] == str(li.price) and it["currency"] == li.currency
            assert it["rank"] >= 1 and it["search_term"]
            assert it["snapshot"]["status"] == 200 and it["snapshot"]["body"]["length"] > 0
            assert it["snapshot"]["ip_address"] == "127.0.0.1"
        assert sum(s.get("markwatch/parse_errors", 0) for s in stats) == len(broken)

        # robots.txt fetched and obeyed
        mine = [(path, status) for c, _, path, status in requests if c == code]
        assert ("/robots.txt", 200) in mine
        rp = Protego.parse(shop.robots())
        disallowed = [p for p, _ in mine if not rp.can_fetch(shop.base_url + p, UA)]
        assert not disallowed, disallowed
        # the one-off 429 on the second results page was retried
        throttled = [p for p, s in mine if s == 429]
        assert throttled, code
        ok = Counter(p for p, s in mine if s == 200)
        assert all(ok[p] for p in throttled)
