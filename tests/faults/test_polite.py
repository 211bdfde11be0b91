"""Polite crawling, measured at the servers: one request in flight per host, the delay kept
(with negative controls that show the measurement catches a crawler that does neither),
Retry-After honoured without stalling other hosts, and robots.txt failures read as
"disallow for this run"."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from crawler.middlewares import parse_retry_after
from tests.faults.helpers import allow, record, run_crawl
from tests.faults.servers import FaultServer, Handler, Hit, serving, shop_routes, static

DELAY = 0.8
# DOWNLOAD_DELAY_JITTER is ±50%: no two requests may start closer than half the delay (less a
# little for the clocks of two processes on a busy machine).
MIN_GAP = 0.5 * DELAY - 0.05


def politeness(hits: list[Hit]) -> tuple[int, float]:
    """(most requests in flight at once, shortest start-to-start gap) from a server's log."""
    starts = sorted(h.started for h in hits)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    return max(h.in_flight for h in hits), min(gaps)


def polite(hits: list[Hit]) -> bool:
    in_flight, gap = politeness(hits)
    return in_flight == 1 and gap >= MIN_GAP


def test_one_request_in_flight_per_host_and_the_delay_kept(tmp_path: Path) -> None:
    shop = FaultServer(*shop_routes(6, latency=0.1))
    with serving(shop):
        run_crawl(tmp_path, [{"profile": "shopa", "base_url": shop.base_url}],
                  env={**allow(shop.netloc), "MARKWATCH_CRAWL_DELAY": str(DELAY)})
        hits = list(shop.hits)
    assert len(hits) == 8  # robots.txt, the search, six listings
    in_flight, gap = politeness(hits)
    assert in_flight == 1 and gap >= MIN_GAP, (in_flight, gap)
    record("7 polite: 1 in flight/host, delay kept", len(hits), None, None,
           f"max in flight {in_flight}, min gap {gap:.2f} s (delay {DELAY} s)")


def test_negative_controls_the_measurement_catches_an_impolite_crawler(tmp_path: Path) -> None:
    """The same crawl with the delay off, then with four requests per host: the check fails."""
    no_delay = FaultServer(*shop_routes(6, latency=0.1))
    burst = FaultServer(*shop_routes(6, latency=0.3))
    with serving(no_delay, burst):
        run_crawl(tmp_path, [{"profile": "shopa", "base_url": no_delay.base_url}],
                  env={**allow(no_delay.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
                  settings={"AUTOTHROTTLE_ENABLED": False})
        run_crawl(tmp_path, [{"profile": "shopa", "base_url": burst.base_url}],
                  env={**allow(burst.netloc), "MARKWATCH_CRAWL_DELAY": "0",
                       "MARKWATCH_CRAWL_CONCURRENCY_PER_HOST": "4"},
                  settings={"AUTOTHROTTLE_ENABLED": False})
        gap_hits, burst_hits = list(no_delay.hits), list(burst.hits)
    assert not polite(gap_hits), politeness(gap_hits)
    assert politeness(gap_hits)[1] < MIN_GAP
    assert not polite(burst_hits) and politeness(burst_hits)[0] > 1, politeness(burst_hits)
    record("7 polite: negative controls fail", 2, None, None,
           f"delay off: min gap {politeness(gap_hits)[1]:.2f} s; "
           f"4/host: {politeness(burst_hits)[0]} in flight")


class _TooManyOnce:
    """The first search answers 429 with Retry-After; later ones the results."""

    def __init__(self, retry_after: str, results: bytes):
        self.retry_after, self.results, self.served = retry_after, results, False

    def __call__(self, h: Handler) -> None:
        if not self.served:
            self.served = True
            h.send(429, b"slow down", "text/plain", {"Retry-After": self.retry_after})
        else:
            h.send(200, self.results)


def _throttled_shop(retry_after: str) -> FaultServer:
    routes, prefixes = shop_routes(3)
    routes["/search"] = _TooManyOnce(retry_after, b"")
    from tests.faults.servers import search_page

    routes["/search"].results = search_page([f"/item/ok-{i}" for i in range(3)])
    return FaultServer(routes, prefixes)


def _pause(hits: list[Hit]) -> float:
    """Seconds between the end of the 429 and the next request to that host."""
    hits = sorted(hits, key=lambda h: h.started)
    i = next(i for i, h in enumerate(hits) if h.path.startswith("/search"))
    return hits[i + 1].started - hits[i].ended


def test_retry_after_pauses_that_host_only(tmp_path: Path) -> None:
    a, other = _throttled_shop("3"), FaultServer(*shop_routes(8, latency=0.4))
    with serving(a, other):
        res = run_crawl(
            tmp_path,
            [{"profile": "shopa", "base_url": a.base_url},
             {"profile": "shopa", "base_url": other.base_url}],
            env={**allow(a.netloc, other.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
            settings={"AUTOTHROTTLE_ENABLED": False},
        )
        a_hits, other_hits = list(a.hits), list(other.hits)
    pause = _pause(a_hits)
    assert pause >= 2.7, pause
    assert len(res.items(0)) == 3 and len(res.items(1)) == 8
    assert res.stats(0)["markwatch/retry_after/paused"] == 1
    # the other host was served while this one waited: nothing slept the reactor
    search_end = next(h.ended for h in a_hits if h.path.startswith("/search"))
    during = [h for h in other_hits if search_end < h.started < search_end + pause]
    assert during, "the other host waited too"
    record("7 polite: 429 Retry-After honoured", 1, None, None,
           f"paused {pause:.1f} s for Retry-After 3; other host served {len(during)} meanwhile")


def test_retry_after_negative_control_scrapy_alone_retries_at_once(tmp_path: Path) -> None:
    a = _throttled_shop("3")
    with serving(a):
        run_crawl(tmp_path, [{"profile": "shopa", "base_url": a.base_url}],
                  env={**allow(a.netloc), "MARKWATCH_CRAWL_DELAY": "0"},
                  settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOADER_MIDDLEWARES": {
                      "crawler.middlewares.RetryAfterMiddleware": None}})
        hits = list(a.hits)
    assert _pause(hits) < 2.7


@pytest.mark.faults
def test_a_long_retry_after_is_capped(tmp_path: Path) -> None:
    a = _throttled_shop("3600")
    with serving(a):
        res = run_crawl(tmp_path, [{"profile": "shopa", "base_url": a.base_url}],
                        env={**allow(a.netloc), "MARKWATCH_CRAWL_DELAY": "0",
                             "MARKWATCH_CRAWL_RETRY_AFTER_MAX": "4"},
                        settings={"AUTOTHROTTLE_ENABLED": False})
        hits = list(a.hits)
    pause = _pause(hits)
    assert 3.6 <= pause < 30, pause
    titles = [it["title"] for it in res.items()]
    record("7 polite: Retry-After 3600 capped", 1, 3 - len(set(titles)),
           len(titles) - len(set(titles)), f"paused {pause:.1f} s (cap 4 s)")
    assert len(res.items()) == 3


def test_retry_after_values() -> None:
    assert parse_retry_after(b"7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    for bad in (None, b"", b"soon", b"-3", b"1.5e9"):
        assert parse_retry_after(bad) is None


def _robots_shop(robots_route) -> FaultServer:
    return FaultServer(*shop_routes(3, robots=robots_route))


class _Flip:
    """robots.txt answering 503 until ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed = False

    def __call__(self, h: Handler) -> None:
        if self.fixed:
            h.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        else:
            h.send(503, b"down", "text/plain")


def test_robots_txt_failures_disallow_the_run_and_404_allows(tmp_path: Path) -> None:
    flip = _Flip()
    failing = _robots_shop(flip)
    hanging = _robots_shop(static(200, b"User-agent: *\nAllow: /\n", "text/plain", delay=6))
    missing = _robots_shop(static(404, b"no robots here", "text/html"))
    with serving(failing, hanging, missing):
        jobs = [{"profile": "shopa", "base_url": s.base_url}
                for s in (failing, hanging, missing)]
        res = run_crawl(tmp_path, jobs,
                        env={**allow(failing.netloc, hanging.netloc, missing.netloc),
                             "MARKWATCH_CRAWL_DELAY": "0"},
                        settings={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 1.5,
                                  "RETRY_TIMES": 1})
        failing_paths, hanging_paths = failing.paths(), hanging.paths()
        flip.fixed = True
        again = run_crawl(tmp_path, jobs[:1], env={**allow(failing.netloc),
                                                    "MARKWATCH_CRAWL_DELAY": "0"})
        after_paths = failing.paths()[len(failing_paths):]
    # 5xx (after the retries) and a timeout: nothing but robots.txt was asked for this run
    assert set(failing_paths) == {"/robots.txt"} and len(failing_paths) == 2, failing_paths
    assert set(hanging_paths) == {"/robots.txt"}, hanging_paths
    for i in (0, 1):
        assert res.items(i) == [] and res.stats(i)["markwatch/robots/unavailable"] == 1
    # 404: no rules, the crawl goes on
    assert len(res.items(2)) == 3 and "markwatch/robots/unavailable" not in res.stats(2)
    # the next run asks again and crawls
    assert after_paths[0] == "/robots.txt" and len(again.items()) == 3
    record("7 polite: robots.txt 5xx/timeout/404", 3, 6 - len(res.items(2)) - len(again.items()),
           None, f"503 and timeout: 0 pages fetched, next run crawls {len(again.items())}/3; "
           f"404: {len(res.items(2))}/3 listings")
