"""``markwatch match``: run the matcher over files, without a store.

    markwatch match --marks marks.csv --listings listings.jsonl --out out.jsonl [--all]
    markwatch match --marks marks.csv --domains hosts.txt --out out.jsonl

``--domains`` reads one host name or URL per line instead of listings, and looks for
combosquats and typosquats of the marks (``matcher.domains``).

``marks.csv`` needs the columns ``mark_id,mark`` (optional: ``aliases`` and ``nice_classes``
separated by ``|``, ``owner``, ``famous``). Each line of ``listings.jsonl`` needs ``listing_id``
and ``title`` (optional: ``description``, ``price``, ``currency``, ``seller``, ``category``,
``marketplace``, ``condition``). ``out.jsonl`` gets one JSON object per finding that would become
an alert (with ``--all``, innocent-use findings too). Bad lines are counted and reported.
"""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

REQUIRED_MARK_COLUMNS = ("mark_id", "mark")


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split("|") if p.strip()]


def read_marks(path: Path):
    """Marks from a CSV file; raises click errors for an unreadable file or a missing column."""
    from matcher import MarkRecord

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            missing = [c for c in REQUIRED_MARK_COLUMNS if c not in columns]
            if missing:
                raise click.BadParameter(
                    f"{path} has no column {', '.join(missing)} (found: {', '.join(columns) or 'none'})",
                    param_hint="--marks")
            marks, bad = [], 0
            for row in reader:
                try:
                    if not (row.get("mark_id") or "").strip() or not (row.get("mark") or "").strip():
                        raise ValueError("empty mark_id or mark")
                    marks.append(MarkRecord(
                        mark_id=row["mark_id"].strip(), mark=row["mark"].strip(),
                        owner_id=(row.get("owner") or "").strip(), owner=(row.get("owner") or "").strip(),
                        aliases=tuple(_split(row.get("aliases"))),
                        nice_classes=frozenset(int(c) for c in _split(row.get("nice_classes"))),
                        famous=(row.get("famous") or "").strip().lower() in ("1", "true", "yes")))
                except (ValueError, TypeError, AttributeError):
                    bad += 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--marks") from exc
    return marks, bad


def _listing(obj: object):
    from matcher import ListingText

    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    listing_id, title = obj.get("listing_id"), obj.get("title")
    if listing_id is None or not isinstance(title, str):
        raise ValueError("listing_id and title are required")
    price = obj.get("price")
    if price is not None and price != "":
        try:
            price = Decimal(str(price))
        except InvalidOperation as exc:
            raise ValueError("bad price") from exc
        if not price.is_finite():
            raise ValueError("bad price")
    else:
        price = None

    def text(name: str) -> str | None:
        value = obj.get(name)
        return None if value is None else str(value)

    return ListingText(listing_id=str(listing_id), title=title, description=text("description") or "",
                       price=price, currency=text("currency"), seller=text("seller"),
                       marketplace=text("marketplace"), category=text("category"),
                       condition=text("condition"))


@click.command("match")
@click.option("--marks", "marks_path", required=True, type=click.Path(path_type=Path),
              help="CSV of marks: mark_id,mark[,aliases,nice_classes,owner,famous].")
@click.option("--listings", "listings_path", type=click.Path(path_type=Path),
              help="JSON Lines of listings: listing_id,title[,description,price,currency,seller,category].")
@click.option("--domains", "domains_path", type=click.Path(path_type=Path),
              help="Host names or URLs, one per line (instead of --listings).")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the findings (JSON Lines).")
@click.option("--all", "include_all", is_flag=True,
              help="Also write innocent-use findings (nominative, other class, authorised).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
def match(marks_path: Path, listings_path: Path | None, domains_path: Path | None, out_path: Path,
          include_all: bool, progress: bool | None) -> None:
    """Match listings (or domain names) against marks from files, without a store."""
    from matcher import build_index

    if (listings_path is None) == (domains_path is None):
        raise click.UsageError("give exactly one of --listings and --domains")
    marks, bad_marks = read_marks(marks_path)
    if not marks:
        raise click.BadParameter(f"{marks_path} holds no usable mark", param_hint="--marks")
    if domains_path is not None:
        _match_domains(build_index(marks), domains_path, out_path, include_all, len(marks), bad_marks)
        return
    assert listings_path is not None
    try:
        size = listings_path.stat().st_size
        fh = listings_path.open("rb")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {listings_path}: {exc}", param_hint="--listings") from exc
    index = build_index(marks)
    seen = bad = written = 0
    show = sys.stderr.isatty() if progress is None else progress
    try:
        out = out_path.open("w", encoding="utf-8")
    except OSError as exc:
        fh.close()
        raise click.BadParameter(f"cannot write {out_path}: {exc}", param_hint="--out") from exc
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with fh, out, Progress(TextColumn("matching"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                           TimeRemainingColumn(), disable=not show,
                           console=_stderr_console()) as bar:
        task = bar.add_task("match", total=size or None)
        for n, raw in enumerate(fh, 1):
            if n % 512 == 0:
                bar.update(task, completed=fh.tell())
            if not raw.strip():
                continue
            seen += 1
            try:
                listing = _listing(json.loads(raw.decode("utf-8")))
            except (ValueError, UnicodeDecodeError, RecursionError):
                bad += 1
                continue
            written += _write(out, index.match(listing, alertable_only=not include_all), include_all)
        bar.update(task, completed=size)
    click.echo(f"{seen} listings read, {written} findings written to {out_path}, "
               f"{bad} bad listing lines skipped, {len(marks)} marks ({bad_marks} bad mark rows skipped)",
               err=True)


MAX_HOST_LINE = 2_048


def _write(out, matches, include_all: bool) -> int:
    """Write the findings that would alert (or all, with ``--all``); return how many."""
    n = 0
    for m in matches:
        if m.alertable or include_all:
            out.write(json.dumps(m.as_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def _match_domains(index, path: Path, out_path: Path, include_all: bool, n_marks: int,
                   bad_marks: int) -> None:
    seen = bad = written = 0
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--domains") from exc
    try:
        out = out_path.open("w", encoding="utf-8")
    except OSError as exc:
        fh.close()
        raise click.BadParameter(f"cannot write {out_path}: {exc}", param_hint="--out") from exc
    with fh, out:
        for raw in fh:
            if not raw.strip():
                continue
            seen += 1
            try:
                host = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                bad += 1
                continue
            if len(host) > MAX_HOST_LINE or any(ch.isspace() for ch in host):
                bad += 1
                continue
            written += _write(out, index.match_domain(host), include_all)
    click.echo(f"{seen} domains read, {written} findings written to {out_path}, "
               f"{bad} bad lines skipped, {n_marks} marks ({bad_marks} bad mark rows skipped)", err=True)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)
