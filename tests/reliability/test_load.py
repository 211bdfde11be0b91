"""11. Load held: 100,000 listings through crawl ingest, matching and alert creation on
PostgreSQL and Redis with two workers (a crawler and a matcher), nothing lost or duplicated.
About 20 minutes on two cores: it runs under ``make faults`` only."""

from __future__ import annotations

import json

import pytest

from tests.faults.helpers import record

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.faults]


def test_100k_listings_through_the_pipeline(redis_url, tmp_path):
    from benchmarks.pipeline_load import main

    out = tmp_path / "load.json"
    code = main(["--listings", "100000", "--json", str(out), "--redis", redis_url,
                 "--out", str(tmp_path / "load.txt")])
    f = json.loads(out.read_text())
    lost = f["infringing_labelled"] - f["infringing_crawled"]
    record("11 load: 100,000 listings", 0, f["listings_stored"] - f["snapshots"],
           f["duplicate_alerts"],
           f"{f['listings_per_second']} listings/s, fetch-to-alert p95 {f['fetch_to_alert_p95_s']} s"
           f", {f['alerts']} alerts, precision {f['precision']}, recall {f['recall']}, "
           f"{lost} labelled listings not reached")
    assert code == 0
    assert f["duplicate_alerts"] == 0 and f["listings_stored"] == f["snapshots"]
