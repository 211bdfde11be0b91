"""``markwatch demo``: the main job on embedded defaults, with progress."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("demo")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the demo keeps its store and queue (default: var/demo).")
@click.option("--timeout", type=float, default=420.0, show_default=True,
              help="Seconds to wait for the crawls and matching.")
@click.option("--limit", type=int, default=40, show_default=True, help="Alerts to print.")
@click.option("--serve/--no-serve", default=False, show_default=True,
              help="Afterwards, start the web app on the demo store until Ctrl-C.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port of the web app (with --serve; default: MARKWATCH_WEB_PORT, 8000).")
@click.option("--ocr/--no-ocr", default=False, show_default=True,
              help="Read text in every listing photo (Tesseract, about half a second a photo: "
              "give --timeout room).")
def demo(data_dir: Path | None, timeout: float, limit: int, serve: bool, port: int | None,
         ocr: bool) -> None:
    """Crawl the bundled test marketplaces, match, queue alerts and show the alert queue.

    Starts from an empty store each time. The test marketplaces run on loopback, so the demo
    lifts the politeness delay for them (MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED=1).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from markwatch.settings import get_settings

    # The worker and crawler processes read the same settings from the environment.
    if data_dir is not None or "MARKWATCH_DATA_DIR" not in os.environ:
        os.environ["MARKWATCH_DATA_DIR"] = str((data_dir or Path("var/demo")).resolve())
    os.environ.setdefault("MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED", "1")
    get_settings.cache_clear()
    settings = get_settings()

    from db.alerts import alert_queue, status_counts
    from db.session import make_engine, session_factory
    from markwatch.cli import emit_alerts
    from markwatch.demo import run_demo
    from markwatch.processes import ProcessFailed, require_free_ports

    web_port = port or settings.web_port
    if serve:  # before minutes of crawling, not after
        try:
            require_free_ports("127.0.0.1", [web_port], what="the web app",
                               setting="MARKWATCH_WEB_PORT (or --port)")
        except ProcessFailed as exc:
            raise click.ClickException(str(exc)) from None

    console = Console(stderr=True)
    console.print(f"[bold]markwatch demo[/] — store: {settings.effective_database_url}, "
                  f"broker: {settings.effective_broker_url}")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("crawls", total=None, info="")

        def on_progress(p):
            bar.update(task, total=p.runs_total, completed=p.runs_done,
                       info=f"{p.listings} listings, {p.pending_match} to match, "
                            f"{p.alerts} alerts")

        def on_step(msg: str) -> None:
            console.print(f"• {msg}")

        try:
            result = run_demo(settings, timeout=timeout, on_progress=on_progress,
                              on_step=on_step, ocr=ocr)
        except ProcessFailed as exc:
            raise click.ClickException(str(exc)) from None
    p = result.progress
    engine = make_engine(settings.effective_database_url)
    with session_factory(engine)() as s:
        rows = alert_queue(s)
        counts = status_counts(s)
    emit_alerts(rows[:limit], "table")
    labels_file = settings.data_dir / "marketplaces" / "labels.jsonl"
    if labels_file.exists():
        from fixtures.marketplaces import load_labels
        from fixtures.marketplaces.scoring import score, score_per_marketplace, summary_table
        from fixtures.marketplaces.sea import language_of
        from markwatch.demo import alert_records

        labels = load_labels(labels_file)
        alerts, crawled = alert_records(session_factory(engine))
        total = score(labels, alerts, crawled)
        click.echo(f"\nAgainst the test marketplaces' ground truth (data we wrote): "
                   f"{total.summary()}.")
        per = score_per_marketplace(labels, alerts, crawled)
        click.echo("Per marketplace:")
        click.echo(summary_table(per, {c: language_of(c) or "" for c in per}))
        click.echo("Recall per disguise type (checked: kinds the matcher has a check for; "
                   "independent: drawn at random, apart from the matcher):")
        click.echo(total.table())
    engine.dispose()
    click.echo(
        f"\n{p.runs_done} crawls ({p.runs_failed} failed), {p.listings} listings screened, "
        f"{len(rows)} alerts queued {counts} in {result.seconds:.0f} s."
    )
    if len(rows) > limit:
        click.echo(f"Showing the top {limit}. All of them: "
                   f"MARKWATCH_DATA_DIR={settings.data_dir} markwatch alerts")
    if serve:
        _serve_demo(settings, engine_url=settings.effective_database_url, port=web_port)


def _serve_demo(settings, *, engine_url: str, port: int) -> None:
    """Create the demo's sign-ins and run the web app on the demo store until Ctrl-C."""
    from db.session import make_engine, session_factory, transaction
    from markwatch.accounts import DEMO_PASSWORD, ensure_demo_users
    from markwatch.cli.serve_cmd import serve_web

    engine = make_engine(engine_url)
    with transaction(session_factory(engine)) as s:
        logins = ensure_demo_users(s)
    engine.dispose()
    reviewer = next(x.email for x in logins if x.role == "reviewer")
    from markwatch.processes import port_taken

    if port_taken("127.0.0.1", port):  # taken while the demo crawled
        raise click.ClickException(
            f"the web app needs port {port} on 127.0.0.1, and another program took it: stop it, "
            "or set MARKWATCH_WEB_PORT (or --port) to a free port; the demo store is kept, so "
            "`markwatch serve` serves it without crawling again")
    click.echo(f"\nThe web app: http://127.0.0.1:{port}/  (Ctrl-C stops it)")
    click.echo(f"Demo sign-in: {reviewer} / {DEMO_PASSWORD} — every rights holder has "
               f"admin@, reviewer@ and viewer@<slug>.example with the same password.")
    serve_web("127.0.0.1", port, log_level="warning")
