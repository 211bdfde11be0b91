"""Run a real crawl in a subprocess and read what it did; record rows for the summary table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT_MB = 512
REPORT_ENV = "MARKWATCH_TEST_FAULTS_REPORT"


@dataclass
class CrawlResult:
    jobs: list[dict[str, Any]]
    maxrss_mb: float
    log: str
    returncode: int
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def stats(self, i: int = 0) -> dict[str, Any]:
        return self.jobs[i]["stats"]

    def items(self, i: int = 0) -> list[dict[str, Any]]:
        return self.jobs[i]["items"]

    def fetch_errors(self, i: int = 0) -> dict[str, int]:
        p = "markwatch/fetch_error/"
        return {k[len(p):]: v for k, v in self.stats(i).items() if k.startswith(p)}

    def blocked(self, i: int | None = None) -> dict[str, int]:
        p = "markwatch/blocked/"
        out: dict[str, int] = {}
        for j in range(len(self.jobs)) if i is None else [i]:
            for k, v in self.stats(j).items():
                if k.startswith(p):
                    out[k[len(p):]] = out.get(k[len(p):], 0) + v
        return out


def run_crawl(
    tmp_path: Path,
    jobs: list[dict[str, Any]],
    *,
    env: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    timeout: float = 150,
) -> CrawlResult:
    """Crawl ``jobs`` (spider, base_url, terms ...) in one subprocess with the project's
    settings; ``env`` adds ``MARKWATCH_*`` variables, ``settings`` Scrapy settings on top."""
    import time

    n = len(list(tmp_path.glob("job-*.json")))
    job_file, out_file = tmp_path / f"job-{n}.json", tmp_path / f"out-{n}.json"
    job_file.write_text(json.dumps({"jobs": jobs, "settings": settings or {}}))
    child_env = {**os.environ, "PYTHONPATH": str(REPO), "MARKWATCH_LOG_LEVEL": "INFO",
                 **(env or {})}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.faults.crawl", str(job_file), str(out_file)],
        env=child_env, cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(out_file.read_text())
    return CrawlResult(out["jobs"], out["maxrss_mb"], proc.stderr, proc.returncode, seconds)


def allow(*netlocs: str) -> dict[str, str]:
    """The environment that lets the crawler reach these loopback servers (and nothing else)."""
    return {"MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": ",".join(netlocs)}


def record(promise: str, injected: int | None, lost: int | None, duplicated: int | None,
           figure: str) -> None:
    """One row of the summary table ``make faults`` prints (kept only when it asks for it).
    ``None`` where the promise has nothing of that kind to count: the table says ``n/a``."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    row = {"promise": promise, "injected": injected, "lost": lost, "duplicated": duplicated,
           "figure": figure}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
