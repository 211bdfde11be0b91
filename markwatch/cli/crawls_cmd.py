"""``markwatch crawls``: what recent crawls fetched, stored and skipped, and why."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def _skipped_text(skipped: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in skipped.items()) or "-"


@click.command("crawls")
@click.option("--marketplace", help="Marketplace code.")
@click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed"]))
@click.option("--run", "run_id", type=int, help="One crawl run, in full (with its log's path).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def crawls(marketplace: str | None, status: str | None, run_id: int | None, limit: int,
           fmt: str) -> None:
    """Recent crawl runs, newest first: status, pages fetched, listings seen (so far, for a
    running crawl), new and changed, pages skipped with their reasons, errors. Each run's Scrapy log is kept under the data directory
    (crawls/<run id>.log)."""
    from db.crawl_runs import recent_runs
    from markwatch.cli import _sessions, _settings
    from markwatch.metrics import crawl_skips

    settings = _settings()
    with _sessions()() as s:
        runs = recent_runs(s, limit=limit, marketplace=marketplace, status=status, run_id=run_id)
    if run_id is not None and not runs:
        raise click.ClickException(f"no crawl run {run_id}")
    logs = {r.id: settings.crawl_log_path(r.id) for r in runs}
    if fmt == "json":
        rows = [{**r.as_dict(), "skipped": crawl_skips(r.stats),
                 "log": str(logs[r.id]) if logs[r.id].exists() else None} for r in runs]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    if run_id is not None:
        r = runs[0]
        lines: list[tuple[str, Any]] = [
            ("run", r.id), ("marketplace", r.marketplace),
            ("watch", f"{r.rights_holder} / {r.mark}: {' | '.join(r.terms)}"),
            ("status", r.status + (f" ({r.finish_reason})" if r.finish_reason else "")),
            ("queued", r.created_at), ("started", r.started_at or "-"),
            ("finished", r.finished_at or "-"),
            ("seconds", f"{r.seconds:.1f}" if r.seconds is not None else "n/a"),
            ("worker", r.worker or "-"), ("pages fetched", r.pages_fetched),
            ("listings", f"{r.listings_seen} seen, {r.listings_new} new, "
                         f"{r.listings_changed} changed, {r.items_dropped} dropped"),
            ("skipped", _skipped_text(crawl_skips(r.stats))), ("error", r.error or "-"),
            ("log", logs[r.id] if logs[r.id].exists() else "none kept"),
        ]
        for k, v in lines:
            click.echo(f"{k + ':':<15}{v}")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Crawl runs ({len(runs)})", expand=True)
    for col, kw in (("run", {"justify": "right"}), ("market", {}), ("mark", {}), ("status", {}),
                    ("started", {}), ("pages", {"justify": "right"}),
                    ("seen", {"justify": "right"}), ("new", {"justify": "right"}),
                    ("changed", {"justify": "right"}),
                    ("skipped", {"ratio": 2}), ("error", {"ratio": 2})):
        table.add_column(col, overflow="fold", **kw)
    for r in runs:
        table.add_row(str(r.id), r.marketplace, Text(r.mark), r.status,
                      f"{r.started_at:%Y-%m-%d %H:%M}" if r.started_at else "-",
                      str(r.pages_fetched), str(r.listings_seen), str(r.listings_new),
                      str(r.listings_changed),
                      _skipped_text(crawl_skips(r.stats)), Text((r.error or "-")[:300]))
    Console(file=sys.stdout, width=max(140, Console().width)).print(table)
