"""The ``markwatch`` command line: a thin layer over ``db``, ``tasks`` and ``markwatch``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from markwatch.settings import Settings, get_settings


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: show it as a usage error
        raise click.ClickException(f"invalid settings: {exc}") from None


def _sessions():
    from db.session import engine_for, session_factory

    return session_factory(engine_for(_settings().effective_database_url))


def _missing_table(exc: Exception) -> str | None:
    """The table a store lacks when ``exc`` says so (SQLite or PostgreSQL), else None."""
    import re

    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(exc, OperationalError | ProgrammingError):
        return None
    m = re.search(r'no such table: (\w+)|relation "(\w+)" does not exist', str(exc.orig))
    return (m.group(1) or m.group(2)) if m else None


class _Main(click.Group):
    """The command group: a store without its tables (``markwatch db upgrade`` not run yet)
    is a clear error, whichever command meets it, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            table = _missing_table(exc)
            if table is None:
                raise
            raise click.ClickException(f"the store has no {table} table: run `markwatch db "
                                       "upgrade` first") from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="markwatch")
def main() -> None:
    """markwatch: find marketplace listings that infringe your trademarks, and act on them."""
    logging.basicConfig(
        level=getattr(logging, _settings().log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "kombu.connection"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --- db --------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The store: migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Run the migrations on the configured database."""
    from db.migrate import current, upgrade

    url = _settings().effective_database_url
    upgrade(url, revision)
    click.echo(f"database at revision {current(url)}")


@db.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    from db.migrate import current

    click.echo(current(_settings().effective_database_url) or "empty")


# --- registration ----------------------------------------------------------------------------


def _run_import(fn: Any, path: Path, **kw: Any) -> None:
    from db.registry import RegistryImportError
    from db.session import transaction

    try:
        with transaction(_sessions()) as s:
            result = fn(s, path, **kw)
    except RegistryImportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: {result}")


_csv_file = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@main.group()
def holders() -> None:
    """Rights holders (the tenants)."""


@holders.command("import")
@_csv_file
def holders_import(file: Path) -> None:
    """Import rights holders from CSV (slug,name,country,contact_email)."""
    from db.registry import import_rights_holders

    _run_import(import_rights_holders, file)


@main.group()
def marks() -> None:
    """Registered marks."""


@marks.command("import")
@_csv_file
def marks_import(file: Path) -> None:
    """Import marks from CSV. Columns: rights_holder, mark, aliases (|-separated),
    registration_number, office, jurisdictions, nice_classes, status, expires_on, famous."""
    from db.registry import import_marks

    _run_import(import_marks, file)


@marks.command("add")
@click.option("--rights-holder", required=True, help="The rights holder's slug.")
@click.option("--mark", required=True, help="The word mark.")
@click.option("--registration-number", required=True)
@click.option("--office", required=True, help="EUIPO, USPTO, CNIPA, ...")
@click.option("--nice-classes", required=True, help="|-separated, e.g. 25|28")
@click.option("--aliases", default="", help="|-separated forms in other scripts")
@click.option("--jurisdictions", default="", help="|-separated, e.g. EU|GB")
@click.option("--expires-on", default=None, help="YYYY-MM-DD")
@click.option("--famous/--not-famous", default=False)
def marks_add(**kw: Any) -> None:
    """Register one mark."""
    from db.registry import RegistryImportError, add_mark
    from db.session import transaction

    fields = {k: v for k, v in kw.items() if v not in (None, "")}
    fields["mark"] = fields.pop("mark")
    try:
        with transaction(_sessions()) as s:
            result = add_mark(s, **fields)
    except RegistryImportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"mark {kw['mark']}: {result}")


@main.group()
def products() -> None:
    """The rights holders' products."""


@products.command("import")
@_csv_file
def products_import(file: Path) -> None:
    """Import products from CSV. Columns: rights_holder, mark_registration, name, model_numbers,
    retail_price, currency, image_sha256."""
    from db.registry import import_products

    _run_import(import_products, file)


@products.group("images")
def products_images() -> None:
    """The products' official photos."""


@products_images.command("import")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--holder", "holder_slug", default=None,
              help="Only this rights holder's products (its slug).")
def products_images_import(directory: Path, holder_slug: str | None) -> None:
    """Import official product photos from DIRECTORY/<product name or model number>/<photos>:
    each is checked, hashed (pHash and dHash, mirrored and cropped too) and stored once."""
    from db.session import transaction
    from markwatch.objectstore import evidence_store
    from markwatch.photos import import_product_photos

    try:
        with transaction(_sessions()) as s:
            result = import_product_photos(s, evidence_store(), directory,
                                           holder_slug=holder_slug)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in result.problems[:50]:
        click.echo(f"  skipped {problem}", err=True)
    click.echo(f"{directory}: {result}")


@main.group()
def networks() -> None:
    """Seller networks: accounts linked by shared contacts or photos."""


@networks.command("recompute")
def networks_recompute() -> None:
    """Recompute every seller network now (beat does it every MARKWATCH_NETWORKS_INTERVAL s)."""
    from datetime import UTC, datetime

    from db.session import transaction
    from markwatch.networks import recompute_networks

    with transaction(_sessions()) as s:
        n = recompute_networks(s, now=datetime.now(UTC))
    click.echo(f"{n} seller networks")


@main.group()
def sellers() -> None:
    """Authorised sellers (never alerted)."""


@sellers.command("import")
@_csv_file
def sellers_import(file: Path) -> None:
    """Import authorised sellers from CSV. Columns: rights_holder, marketplace (empty: all),
    seller."""
    from db.registry import import_sellers

    _run_import(import_sellers, file)


@main.group()
def watch() -> None:
    """Watches: which marks are searched on which marketplace, how often."""


@watch.command("add")
@click.option("--rights-holder", required=True)
@click.option("--mark-registration", default=None, help="The mark's registration number.")
@click.option("--mark", default=None,
              help="Or the word mark's text, when the holder has one mark with that text.")
@click.option("--marketplace", required=True, help="Marketplace code.")
@click.option("--terms", required=True, help="|-separated search terms.")
@click.option("--every", "schedule_minutes", type=int, default=360, show_default=True,
              help="Minutes between two crawls.")
def watch_add(**kw: Any) -> None:
    """Add (or update) a watch; a new watch is due at once."""
    from db.registry import RegistryImportError, add_watch
    from db.session import transaction

    try:
        with transaction(_sessions()) as s:
            result = add_watch(s, **kw)
    except RegistryImportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"watch: {result}")


@watch.command("import")
@_csv_file
def watch_import(file: Path) -> None:
    """Import watches from CSV. Columns: rights_holder, mark_registration (or mark: the word
    mark's text), marketplace, terms, schedule_minutes."""
    from db.registry import import_watches

    _run_import(import_watches, file)


@main.group()
def registry() -> None:
    """Whole registry directories."""


def _code_url(ctx: Any, param: Any, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        code, sep, url = v.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"expected CODE=URL, got {v!r}")
        out[code] = url
    return out


@registry.command("load")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--marketplace-url", "base_urls", multiple=True, callback=_code_url,
              metavar="CODE=URL", help="Override a marketplace's base URL (repeatable).")
def registry_load(directory: Path, base_urls: dict[str, str]) -> None:
    """Import every registry CSV in DIRECTORY (rights_holders, marketplaces, marks, products,
    sellers, watches), all in one transaction."""
    from db.registry import RegistryImportError, load_directory
    from db.session import transaction

    try:
        with transaction(_sessions()) as s:
            results = load_directory(s, directory, base_urls=base_urls)
    except RegistryImportError as exc:
        raise click.ClickException(str(exc)) from None
    for name, result in results.items():
        click.echo(f"{name}: {result}")


# --- pipeline --------------------------------------------------------------------------------


@main.command("schedule")
def schedule_cmd() -> None:
    """Start the crawls of every due watch now (what beat does every minute)."""
    from datetime import UTC, datetime

    from db.session import transaction
    from tasks.schedule import start_due_watches

    with transaction(_sessions()) as s:
        runs = start_due_watches(s, now=datetime.now(UTC))
    click.echo(f"queued {len(runs)} crawl runs")


# --- evidence and delivery ---------------------------------------------------------------------


@main.group()
def evidence() -> None:
    """Evidence: verify every stored digest and the alert history; prune old captures."""


@evidence.command("verify")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Verify the checkpoints with this public key (PEM) instead of "
              "the configured signing key.")
def evidence_verify(public_key: Path | None) -> None:
    """Re-check every capture's SHA-256, its WARC record and digests, the hash chain of every
    alert's history against the head and length the alert records, and every signed checkpoint
    against the store. Exits 1 and lists each problem when anything was tampered with."""
    from db.evidence import describe, verify_evidence
    from markwatch.checkpoints import checkpoint_log, load_public_key, verify_checkpoints
    from markwatch.objectstore import evidence_store

    settings = _settings()
    log = checkpoint_log()
    with _sessions()() as s:
        report = verify_evidence(s, evidence_store(settings))
        click.echo(describe(report))
        problems = list(report.problems)
        if not log.lines():
            click.echo("no checkpoints yet (markwatch evidence checkpoint seals the heads)")
        else:
            key_path = public_key or settings.effective_signing_key
            if not key_path.exists():
                raise click.ClickException(f"no key at {key_path} to check the checkpoints "
                                           "with; pass --public-key")
            cp = verify_checkpoints(s, log, load_public_key(key_path))
            head = (f"checked {cp.checkpoints} signed checkpoints sealing {cp.alerts_sealed} "
                    "alert histories")
            if cp.problems:
                click.echo(head + f": {len(cp.problems)} problem(s)")
                click.echo("\n".join(f"  - {p}" for p in cp.problems[:200]))
            else:
                click.echo(head + ": every sealed head is still in the store")
            problems += cp.problems
    if problems:
        sys.exit(1)


@evidence.command("checkpoint")
def evidence_checkpoint() -> None:
    """Seal the head of every alert's history into a signed entry of the checkpoint log (beat
    does this every MARKWATCH_EVIDENCE_CHECKPOINT_INTERVAL seconds)."""
    from markwatch.checkpoints import checkpoint_log, signing_key, write_checkpoint

    with _sessions()() as s:
        w = write_checkpoint(s, checkpoint_log(), signing_key())
    click.echo(f"checkpoint {w.seq}: {w.alerts} alert histories ({w.events} events, {w.changed} "
               f"changed), Merkle root {w.root}")


@evidence.command("prune")
@click.option("--older-than-days", type=click.IntRange(1), required=True)
def evidence_prune(older_than_days: int) -> None:
    """Delete captures older than N days that no alert points at. Evidence of a confirmed alert
    is never deleted."""
    from datetime import UTC, datetime, timedelta

    from db.evidence import prune_evidence
    from db.session import transaction
    from markwatch.objectstore import evidence_store

    store = evidence_store(_settings())
    with transaction(_sessions()) as s:
        report = prune_evidence(s, store, older_than=datetime.now(UTC) - timedelta(days=older_than_days))
    click.echo(f"deleted {report.captures} captures and {report.objects} objects from "
               f"{store.location}")


@evidence.command("init")
def evidence_init() -> None:
    """Create the evidence directory or bucket if it is missing, then check that it takes a
    write (what each host's workers will do)."""
    from markwatch.objectstore import evidence_store
    from storage import StoreError

    store = evidence_store(_settings())
    try:
        created = store.init()
        store.check()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"evidence store {store.location}: {'created' if created else 'exists'}, writable")


@main.group()
def outbox() -> None:
    """Tasks committed but not yet handed to the broker."""


@outbox.command("relay")
def outbox_relay() -> None:
    """Publish every waiting outbox message now (beat does this every interval)."""
    from tasks.outbox import relay_now

    click.echo(f"published {relay_now()} messages")


@main.command("dead-letters")
def dead_letters() -> None:
    """List tasks parked after too many failed deliveries, with their reasons."""
    import sqlalchemy as sa

    from db.reliability import DeadLetter

    with _sessions()() as s:
        rows = s.scalars(sa.select(DeadLetter).order_by(DeadLetter.id)).all()
    for r in rows:
        click.echo(f"{r.created_at:%Y-%m-%d %H:%M} {r.task_name}{r.args} x{r.deliveries}: "
                   f"{r.reason}")
    click.echo(f"{len(rows)} dead letters")


# --- the alert queue -------------------------------------------------------------------------


def reasons_text(reasons: list[dict[str, Any]], limit: int = 3) -> str:
    several = len({r.get("mark") for r in reasons if r.get("mark")}) > 1  # name the mark then
    parts = [(f"{r['mark']}: " if several and r.get("mark") else "")
             + str(r.get("detail") or r.get("check")) for r in reasons[:limit]]
    if len(reasons) > limit:
        parts.append(f"+{len(reasons) - limit} more")
    return "; ".join(parts)


@main.command("alerts")
@click.option("--status", type=click.Choice(["new", "in_review", "confirmed", "dismissed"]))
@click.option("--mark", help="Word mark, case-insensitive: alerts that matched it, as their best "
                            "mark or beside another of the holder's marks.")
@click.option("--marketplace", help="Marketplace code.")
@click.option("--rights-holder", help="Rights holder slug.")
@click.option("--min-score", type=click.IntRange(0, 100))
@click.option("--tier", type=click.Choice(["high", "medium", "low"]))
@click.option("--seller", help="Seller name, exactly as the marketplace shows it.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Found on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Found on or before this day.")
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]),
              default="table", show_default=True,
              help="json: one JSON array; jsonl: one JSON object per line.")
def alerts_cmd(fmt: str, mark: str | None, marketplace: str | None, rights_holder: str | None,
               since: datetime | None, until: datetime | None, **filters: Any) -> None:
    """Show the alert queue, highest score first. ``--mark`` takes the word mark or any
    registered alias (墨朗 or MOLANG); an unknown mark, marketplace or rights holder is an
    error, not an empty table."""
    import sqlalchemy as sa

    from db.alerts import alert_queue, marks_named
    from db.models import Marketplace, RightsHolder

    with _sessions()() as s:
        holder_id = None
        if rights_holder:
            holder_id = s.scalar(sa.select(RightsHolder.id).filter_by(slug=rights_holder))
            if holder_id is None:
                known = s.scalars(sa.select(RightsHolder.slug).order_by(RightsHolder.slug)).all()
                raise click.BadParameter(f"no rights holder {rights_holder!r}; known: "
                                         f"{', '.join(known) or 'none'}",
                                         param_hint="--rights-holder")
        if marketplace and s.scalar(sa.select(Marketplace.id).filter_by(code=marketplace)) is None:
            known = s.scalars(sa.select(Marketplace.code).order_by(Marketplace.code)).all()
            raise click.BadParameter(f"no marketplace {marketplace!r}; known: "
                                     f"{', '.join(known) or 'none'}", param_hint="--marketplace")
        if mark:
            found = marks_named(s, mark, rights_holder_id=holder_id)
            if not found:
                raise click.BadParameter(f"no mark or alias {mark!r}"
                                         + (f" of {rights_holder}" if rights_holder else ""),
                                         param_hint="--mark")
            filters["mark_ids"] = [m.id for m in found]
        if since and until and until < since:
            raise click.BadParameter("--until is before --since", param_hint="--until")
        rows = alert_queue(s, marketplace=marketplace, rights_holder=rights_holder,
                           since=since.date() if since else None,
                           until=until.date() if until else None, **filters)
    emit_alerts(rows, fmt)


def emit_alerts(rows: list[Any], fmt: str, *, out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(r.as_dict(), ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        from markwatch.notices import write_csv

        cols = ["alert_id", "status", "score", "tier", "kind", "rights_holder", "mark", "marks",
                "marketplace", "seller", "price", "currency", "title", "url", "reasons"]
        rows_out = []
        for r in rows:
            d = r.as_dict()
            d["marks"] = " | ".join(r.marks)
            d["reasons"] = reasons_text(r.reasons, limit=99)
            rows_out.append(d)
        out.write(write_csv(cols, rows_out))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Alert queue ({len(rows)} alerts)", show_lines=False, expand=True)
    columns: list[tuple[str, dict[str, Any]]] = [
        ("score", {"justify": "right"}), ("tier", {}), ("mark", {}), ("market", {}),
        ("seller", {"max_width": 22}), ("price", {"justify": "right"}), ("title", {"ratio": 3}),
        ("reasons", {"ratio": 3})]
    for col, kw in columns:
        table.add_column(col, overflow="fold", **kw)
    for r in rows:
        price = f"{r.price} {r.currency or ''}".strip() if r.price is not None else "-"
        # Text() renders scraped strings literally: no console markup from listing text.
        table.add_row(str(r.score), r.tier, Text(" + ".join(r.marks or (r.mark,))), r.marketplace,
                      Text(r.seller or "-"),
                      price, Text(r.title), Text(reasons_text(r.reasons)))
    Console(file=out, width=max(140, Console().width)).print(table)


def _register_optional() -> None:
    """Sub-command groups that live in their own modules."""
    from markwatch.cli.demo_cmd import demo
    from markwatch.cli.serve_cmd import cases, serve, users

    main.add_command(demo)
    for cmd in (serve, users, cases):
        main.add_command(cmd)
    from markwatch.cli.crawls_cmd import crawls
    from markwatch.cli.marketplaces_cmd import marketplaces
    from markwatch.cli.match_cmd import match

    main.add_command(crawls)
    main.add_command(match)
    main.add_command(marketplaces)


_register_optional()


# --- exchange rates --------------------------------------------------------------------------


@main.group()
def fx() -> None:
    """Exchange rates for the price check (a dated file with its source)."""


@fx.command("show")
def fx_show() -> None:
    """Print the rates in force, their date, source and file."""
    from markwatch.fx import STALE_DAYS, RatesError, active_path, current_rates

    s = _settings()
    try:
        rates = current_rates(s)
    except RatesError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"file:   {active_path(s)}")
    click.echo(f"as of:  {rates.as_of} ({rates.age_days()} days ago)")
    click.echo(f"source: {rates.source}")
    for code, rate in sorted(rates.per_usd.items()):
        click.echo(f"  1 USD = {rate:g} {code}")
    if rates.age_days() > STALE_DAYS:
        click.echo(f"warning: the rates are more than {STALE_DAYS} days old; "
                   "refresh them with `markwatch fx load FILE`", err=True)


@fx.command("load")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
def fx_load(source: Path) -> None:
    """Check a rates file (as_of, source, per_usd with USD: 1) and put it in force."""
    from markwatch.fx import RatesError, load_rates_file

    s = _settings()
    try:
        rates, target = load_rates_file(s, source)
    except RatesError as exc:
        raise click.ClickException(f"{source}: {exc}") from None
    click.echo(f"loaded {len(rates.per_usd)} rates as of {rates.as_of} into {target}")
