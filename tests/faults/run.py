"""``make faults``: run every fault test (fast and long) and print the summary table: the
crawler's and the outbound fetches' (``tests/faults``), delivery and load (``tests/reliability``),
evidence tampering (``tests/db/test_evidence.py``, ``tests/db/test_checkpoints.py``) and the web
app under attack (``tests/web/test_concurrency.py``, ``test_limits.py``, ``test_attacks.py``).

    python -m tests.faults.run [extra pytest arguments]

One row per promise: faults injected, listings lost (healthy listings a fault kept from being
collected), duplicated, and the figure measured. The last line is
``faults: <n> injected, <lost> lost, <dup> duplicated``. The exit status is pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults.helpers import REPO, REPORT_ENV


def _cell(value: int | None) -> str:
    """A count, or ``n/a`` where the promise has nothing of that kind to count."""
    return "n/a" if value is None else str(value)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "faults.jsonl"
        report.touch()
        env = {**os.environ, REPORT_ENV: str(report)}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/faults", "tests/reliability",
             "tests/db/test_evidence.py", "tests/db/test_checkpoints.py",
             "tests/web/test_concurrency.py", "tests/web/test_limits.py",
             "tests/web/test_attacks.py", "-m", "faults or not faults",
             "-q", "-p", "no:randomly", *argv],
            env=env, cwd=REPO,
        )
        rows = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    headers = ("promise", "faults injected", "lost", "duplicated", "figure")
    table = [(r["promise"], _cell(r["injected"]), _cell(r["lost"]), _cell(r["duplicated"]),
              r["figure"]) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h)
              for i, h in enumerate(headers)]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in table:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    injected = sum(r["injected"] or 0 for r in rows)
    lost = sum(r["lost"] or 0 for r in rows)
    dup = sum(r["duplicated"] or 0 for r in rows)
    print(f"faults: {injected} injected, {lost} lost, {dup} duplicated")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
