"""The web app under concurrent requests, on SQLite and PostgreSQL, as a real server process.

Each round fires 50 requests at once: junk bearer tokens and junk session cookies (no sign-in
needed, the cheapest attack), signed-in reads of the queue, and signed-in verdicts (writes).
Nothing may answer 5xx or hang, and /healthz must answer while the round runs. The p50/p95
latencies are printed and, under ``make faults``, reported in the summary table.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.faults.helpers import record
from tests.web.conftest import api_token, serving_app
from tests.web.factory import fill

CONCURRENT = 50
ROUNDS = 3


@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _requests(base: str, token: str, alert_ids: list[int], rng: random.Random
              ) -> list[tuple[str, Callable[[httpx.Client], httpx.Response]]]:
    auth = {"Authorization": f"Bearer {token}"}
    out: list[tuple[str, Callable[[httpx.Client], httpx.Response]]] = []
    for i in range(CONCURRENT):
        slot = i % 10
        if slot < 3:  # a junk token of the right shape: looked up, not found
            junk = {"Authorization": f"Bearer mwt_{rng.getrandbits(200):050x}"}
            out.append(("unauthenticated", lambda c, h=junk: c.get(f"{base}/api/v1/alerts",
                                                                     headers=h)))
        elif slot < 4:  # a junk token of any shape
            out.append(("unauthenticated", lambda c: c.get(f"{base}/api/v1/me",
                                                           headers={"Authorization": "Bearer x"})))
        elif slot < 5:  # a junk session cookie on a page
            cookie = {"Cookie": f"mw_session={rng.getrandbits(160):040x}"}
            out.append(("unauthenticated", lambda c, h=cookie: c.get(f"{base}/alerts",
                                                                       headers=h)))
        elif slot < 8:
            out.append(("authenticated", lambda c: c.get(f"{base}/api/v1/alerts?limit=50",
                                                         headers=auth)))
        else:  # a verdict: a write
            aid = rng.choice(alert_ids)
            action = rng.choice(["review", "confirm"])
            out.append(("authenticated", lambda c, a=aid, act=action: c.post(
                f"{base}/api/v1/alerts/{a}/{act}", headers=auth, json={"note": "load"})))
    rng.shuffle(out)
    return out


def _round(base: str, token: str, alert_ids: list[int], rng: random.Random
           ) -> tuple[list[Outcome], list[float]]:
    todo = _requests(base, token, alert_ids, rng)
    gate = threading.Barrier(len(todo))
    done = threading.Event()
    health: list[float] = []

    def one(kind: str, call: Callable[[httpx.Client], httpx.Response]) -> Outcome:
        with httpx.Client(timeout=90, follow_redirects=False) as c:
            gate.wait()
            t = time.perf_counter()
            try:
                status = call(c).status_code
            except httpx.TimeoutException:
                status = 0  # no answer in 90 s
            return Outcome(kind, status, time.perf_counter() - t)

    def probe() -> None:
        with httpx.Client(timeout=90) as c:
            while not done.is_set():
                t = time.perf_counter()
                assert c.get(f"{base}/healthz").status_code == 200
                health.append(time.perf_counter() - t)
                time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    with ThreadPoolExecutor(len(todo)) as pool:
        outcomes = list(pool.map(lambda kc: one(*kc), todo))
    done.set()
    prober.join(100)
    return outcomes, health


@pytest.mark.slow
def test_fifty_concurrent_requests_neither_freeze_nor_fail(store_url: str, tmp_path: Path
                                                           ) -> None:
    filled = fill(store_url, per_holder=60, xss=False)
    token = api_token(store_url, "reviewer@kestrel-outdoor.example")
    alert_ids = filled.alerts["kestrel-outdoor"]
    rng = random.Random(13)
    outcomes: list[Outcome] = []
    health: list[float] = []
    with serving_app(store_url, tmp_path, filled) as server:
        for _ in range(ROUNDS):
            o, h = _round(server.base, token, alert_ids, rng)
            outcomes += o
            health += h
        log = server.log.read_text(errors="replace")
    backend = "SQLite" if store_url.startswith("sqlite") else "PostgreSQL"
    figures = {}
    for kind in ("unauthenticated", "authenticated"):
        secs = [o.seconds for o in outcomes if o.kind == kind]
        figures[kind] = (percentile(secs, 0.5), percentile(secs, 0.95), max(secs), len(secs))
    line = "; ".join(f"{k} p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms max {mx * 1000:.0f} ms"
                     f" ({n})" for k, (p50, p95, mx, n) in figures.items())
    line += f"; /healthz p95 {percentile(health, 0.95) * 1000:.0f} ms ({len(health)})"
    print(f"\n{backend}, {ROUNDS} rounds of {CONCURRENT} concurrent requests: {line}")
    failed = [o for o in outcomes if o.status >= 500 or o.status == 0]
    record(f"12 web: {CONCURRENT} concurrent requests ({backend})", None, None, None,
           f"{len(failed)} failed of {len(outcomes)}; {line}")
    assert not failed, (failed[:5], log[-3000:])
    assert {o.status for o in outcomes if o.kind == "unauthenticated"} <= {401, 303}
    assert {o.status for o in outcomes if o.kind == "authenticated"} <= {200, 409}
    assert health, "the health check never answered during the rounds"
    assert "database is locked" not in log
