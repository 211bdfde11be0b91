"""``markwatch marketplaces``: add a marketplace from its profile, try a profile (probe), list
them; and the bundled test marketplaces (serve them, or just write the data)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _settings():
    from markwatch.settings import get_settings

    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: show it as a usage error
        raise click.ClickException(f"invalid settings: {exc}") from None


@click.group("marketplaces")
def marketplaces() -> None:
    """Marketplaces: add one from a profile, try a profile, list them; the bundled test shops
    (three shops and a South-East Asian one with a storefront per country)."""


def _load_profile(source: str, base_url: str | None):
    """A profile from a TOML file, or the stored profile of a marketplace code."""
    from crawler.profile import ProfileError, profile_from_json, read_profile_file

    path = Path(source)
    try:
        if path.suffix == ".toml" or path.exists():
            return read_profile_file(path, base_url=base_url)
        import sqlalchemy as sa

        from db.models import Marketplace
        from markwatch.cli import _sessions

        with _sessions()() as s:
            m = s.scalar(sa.select(Marketplace).filter_by(code=source))
        if m is None:
            raise click.ClickException(f"{source!r} is neither a profile file nor a "
                                       "marketplace code")
        if not m.profile:
            raise click.ClickException(f"marketplace {source!r} has no profile (spider "
                                       f"{m.spider!r})")
        prof = profile_from_json(m.profile)
        return prof.model_copy(update={"base_url": base_url}) if base_url else prof
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None


@marketplaces.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="Use this base URL instead of the profile's.")
def add_cmd(file: Path, base_url: str | None) -> None:
    """Add a marketplace, or update it, from its profile (a TOML file). An invalid profile or
    an unknown spider is refused with the line and the reason; nothing is stored then."""
    from crawler.profile import ProfileError, read_profile_file
    from db.registry import RegistryImportError, add_marketplace_profile
    from db.session import transaction
    from markwatch.cli import _sessions

    try:
        profile = read_profile_file(file, base_url=base_url)
        with transaction(_sessions()) as s:
            result = add_marketplace_profile(s, profile)
    except (ProfileError, RegistryImportError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"marketplace {profile.code} ({profile.name}, {profile.base_url}): {result}")


@marketplaces.command("list")
def list_cmd() -> None:
    """The registered marketplaces and what reads them."""
    import sqlalchemy as sa

    from crawler.profile import why_not_crawlable
    from db.models import Marketplace
    from markwatch.cli import _sessions

    with _sessions()() as s:
        rows = s.scalars(sa.select(Marketplace).order_by(Marketplace.code)).all()
        for m in rows:
            problem = why_not_crawlable(m.spider, m.profile)
            click.echo(f"{m.code:<16} {m.name:<20} {m.spider:<10} {m.base_url}"
                       + (f"  NOT CRAWLABLE: {problem}" if problem else ""))
    click.echo(f"{len(rows)} marketplaces")


def _draft(source: str, term: str, code: str | None, out: Path | None, fmt: str, renderer):
    """Draft a profile for the site at URL ``source``; write it to ``out`` (or show it)."""
    from crawler.profile import ProfileError
    from markwatch.draft import DraftError, draft_profile
    from markwatch.probe import probe_client
    from markwatch.render import RenderError

    try:
        with probe_client() as client:
            draft = draft_profile(client, source, term, code=code, renderer=renderer)
        profile = draft.profile()
    except (DraftError, OSError, RenderError) as exc:
        raise click.ClickException(f"cannot draft a profile for {source}: {exc}") from None
    except ProfileError as exc:
        raise click.ClickException(f"the drafted profile is not valid:\n{exc}\n\n"
                                   + draft.toml()) from None
    info = sys.stderr if fmt == "json" else sys.stdout
    for f in draft.found:
        click.echo(f"found {f}", file=info)
    for m in draft.missing:
        click.echo(f"not found: {m}", file=info)
    if out is not None:
        out.write_text(draft.toml(), encoding="utf-8")
        click.echo(f"draft profile written to {out}\n", file=info)
    else:
        click.echo("\n" + draft.toml(), file=info)
    return profile


def _probe(source: str, term: str, pages: int, products: int, base_url: str | None,
           fmt: str, *, code: str | None = None, out: Path | None = None) -> None:
    import json

    from markwatch.probe import probe, probe_client
    from markwatch.render import BrowserUnavailable, probe_renderer

    # one browser for the draft and the probe, started only if a page needs it
    with probe_renderer() as renderer:
        if source.startswith(("http://", "https://")):
            profile = _draft(source, term, code, out, fmt, renderer)
        else:
            profile = _load_profile(source, base_url)
        if not profile.uses_generic_spider:
            raise click.ClickException(f"{profile.code} is read by the Python spider "
                                       f"{profile.spider!r}; only profiles can be probed")
        try:
            with probe_client() as client:
                report = probe(profile, term, client, pages=pages, products=products,
                               renderer=renderer)
        except BrowserUnavailable as exc:
            raise click.ClickException(f"{profile.code} has render = \"browser\": {exc}"
                                       ) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=1) + "\n")
        return
    click.echo(f"{profile.code}: search for {term!r}")
    for f in report.searches:
        click.echo(f"  GET {f.url} -> {f.status if f.status is not None else 'not fetched'}"
                   + (f" ({f.note})" if f.note else ""))
    click.echo(f"  {len(report.links)} result links, next pages: "
               + (", ".join(report.next_pages[:3]) or "none"))
    for url, reason in report.skipped[:20]:
        click.echo(f"  skipped {url}: {reason}")
    for note in report.notes:
        click.echo(f"  note: {note}")
    for p in report.products:
        click.echo(f"\n{p.fetch.url} -> {p.fetch.status if p.fetch.status is not None else 'not fetched'}"
                   + (f" ({p.fetch.note})" if p.fetch.note else ""))
        d = p.data
        if d is not None:
            click.echo(f"  {'listing_id':<11} {p.listing_id or 'MISSING'}")
            for name in ("title", "price", "currency", "seller", "seller_url", "category",
                         "brand", "condition"):
                v = getattr(d, name)
                click.echo(f"  {name:<11} {v if v not in (None, '') else 'MISSING'}")
            click.echo(f"  {'images':<11} {len(d.images)}")
        for note in p.notes:
            click.echo(f"  note: {note}")
    warnings = report.warnings
    click.echo("\n" + ("warnings:\n" + "\n".join(f"  - {w}" for w in warnings)
                       if warnings else "no warnings"))


@marketplaces.command("probe")
@click.argument("source")
@click.option("--term", required=True, help="The search term to try.")
@click.option("--pages", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Result pages to fetch.")
@click.option("--products", type=click.IntRange(0, 50), default=5, show_default=True,
              help="Product pages to read.")
@click.option("--base-url", default=None, help="Use this base URL instead of the profile's.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--code", default=None, help="With a URL: the drafted marketplace's code.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With a URL: write the drafted profile here.")
def probe_cmd(source: str, term: str, pages: int, products: int, base_url: str | None,
              fmt: str, code: str | None, out: Path | None) -> None:
    """Try a profile without storing anything: SOURCE is a TOML file, a stored marketplace's
    code, or a site's URL (then a profile is drafted first: its search form or API, result
    links, pagination and product data; a search page only scripts fill in is run in
    chromium). One search through the SSRF guard, robots.txt obeyed (search pages in chromium
    for render = "browser"), the result links and next pages it finds, and the fields it
    reads on the first product pages, with what is missing."""
    _probe(source, term, pages, products, base_url, fmt, code=code, out=out)


@marketplaces.command("check")
@click.argument("code")
@click.option("--term", required=True, help="The search term to try.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def check_cmd(code: str, term: str, fmt: str) -> None:
    """The dry run of a stored marketplace: two result pages and the listings they give, with
    warnings (no price, no seller, no next page)."""
    _probe(code, term, 2, 10, None, fmt)


@marketplaces.command("serve")
@click.option(
    "--host", default=None, help="Address to bind [default: MARKWATCH_MARKETPLACES_HOST]."
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="First port; shops a, b, c listen on PORT, PORT+1, PORT+2 (0: any free ports) "
    "[default: MARKWATCH_MARKETPLACES_PORT].",
)
@click.option("--seed", type=int, default=None, help="Seed [default: MARKWATCH_MARKETPLACES_SEED].")
@click.option(
    "--listings",
    type=int,
    default=None,
    help="Listings [default: MARKWATCH_MARKETPLACES_LISTINGS].",
)
@click.option(
    "--sea-listings",
    type=int,
    default=None,
    help="Listings of the South-East Asian marketplace on PORT+3, 0 for none "
    "[default: MARKWATCH_MARKETPLACES_SEA_LISTINGS].",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve(
    host: str | None, port: int | None, seed: int | None, listings: int | None,
    sea_listings: int | None, verbose: bool
) -> None:
    """Serve the test shops (and the South-East Asian one on PORT+3) until Ctrl-C or SIGTERM.

    Writes listings.jsonl and labels.jsonl (the ground truth) to <data dir>/marketplaces/ first.
    """
    from fixtures.marketplaces.generator import shops
    from fixtures.marketplaces.server import Marketplaces, serve_until_signalled

    s = _settings()
    mp = Marketplaces(
        host or s.marketplaces_host,
        s.marketplaces_port if port is None else port,
        s.marketplaces_seed if seed is None else seed,
        s.marketplaces_listings if listings is None else listings,
        data_dir=s.data_dir / "marketplaces",
        verbose=verbose,
        sea_listings=s.marketplaces_sea_listings if sea_listings is None else sea_listings,
    )

    def ready(urls: dict[str, str]) -> None:
        info = shops()
        for code, url in urls.items():
            click.echo(f"{code:<6}  {info[code].name:<20} {url}")
        assert mp.data_dir is not None
        click.echo(f"labels: {mp.data_dir / 'labels.jsonl'}  (Ctrl-C to stop)")
        sys.stdout.flush()

    if 0 < mp.sea_listings < 100:
        raise click.UsageError("--sea-listings: 0 (not served) or at least 100")
    try:
        serve_until_signalled(mp, ready)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the test marketplaces on ports {mp.port}-{mp.port + len(shops()) - 1}: "
            f"{exc}; set MARKWATCH_MARKETPLACES_PORT (or --port) to a free first port") from None


@marketplaces.command("generate")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for listings.jsonl and labels.jsonl.",
)
@click.option("--seed", type=int, default=None, help="Seed [default: MARKWATCH_MARKETPLACES_SEED].")
@click.option(
    "--listings",
    type=int,
    default=None,
    help="Listings [default: MARKWATCH_MARKETPLACES_LISTINGS].",
)
@click.option("--sea-listings", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also the South-East Asian marketplace's listings (0: none, else >= 100).")
def generate_cmd(out: Path, seed: int | None, listings: int | None, sea_listings: int) -> None:
    """Write the test listings and their labels without serving them."""
    from collections import Counter

    from fixtures.marketplaces.generator import generate, write
    from fixtures.marketplaces.sea import generate_sea

    s = _settings()
    seed = s.marketplaces_seed if seed is None else seed
    cat = generate(seed, s.marketplaces_listings if listings is None else listings)
    if sea_listings:
        try:
            sea = generate_sea(seed, sea_listings)
        except ValueError as exc:
            raise click.UsageError(f"--sea-listings: {exc}") from None
        cat.listings += sea.listings
        cat.labels += sea.labels
    paths = write(cat, out)
    counts = Counter(lab.category for lab in cat.labels)
    click.echo(f"{len(cat.listings)} listings -> {paths[0]}, labels -> {paths[1]}")
    for category, n in sorted(counts.items()):
        click.echo(f"  {category:<22} {n}")


@marketplaces.command("score")
@click.option("--only", required=True,
              help="Comma-separated marketplace codes to crawl and score, e.g. "
              "sea_th,sea_vn,sea_id,sea_my,sea_ph.")
@click.option("--seed", type=int, default=None, help="Seed [default: MARKWATCH_MARKETPLACES_SEED].")
@click.option("--listings", type=int, default=None,
              help="Listings of the three shops [default: MARKWATCH_MARKETPLACES_LISTINGS].")
@click.option("--sea-listings", type=int, default=None,
              help="Listings of the South-East Asian marketplace "
              "[default: MARKWATCH_MARKETPLACES_SEA_LISTINGS].")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="An empty directory for the store, evidence and crawl logs.")
@click.option("--ocr", is_flag=True,
              help="Also read text in listing photos (Tesseract, about a second a photo).")
def score_cmd(only: str, seed: int | None, listings: int | None, sea_listings: int | None,
              work_dir: Path, ocr: bool) -> None:
    """Crawl some test marketplaces into a fresh SQLite store, screen, and score the alerts
    against the labels: overall, per marketplace (language) and per disguise type.

    The listings are data we wrote: the figures describe our generated shops, not real ones."""
    import os

    from fixtures.marketplaces.scoring import summary_table
    from fixtures.marketplaces.sea import language_of
    from markwatch.settings import get_settings
    from markwatch.shop_eval import evaluate

    codes = [c.strip() for c in only.split(",") if c.strip()]
    work_dir.mkdir(parents=True, exist_ok=True)
    if any(work_dir.iterdir()):
        raise click.UsageError(f"{work_dir} is not empty")
    os.environ["MARKWATCH_DATA_DIR"] = str(work_dir.resolve())
    os.environ.pop("MARKWATCH_DATABASE_URL", None)
    get_settings.cache_clear()
    s = _settings()
    try:
        result = evaluate(
            s, codes,
            seed=s.marketplaces_seed if seed is None else seed,
            listings=s.marketplaces_listings if listings is None else listings,
            sea_listings=s.marketplaces_sea_listings if sea_listings is None else sea_listings,
            on_step=lambda msg: click.echo(f"• {msg}", err=True), ocr=ocr,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    names = {c: language_of(c) or "" for c in codes}
    click.echo("Scored against the labels of data we wrote (the bundled test marketplaces).")
    click.echo(f"crawl runs: {result.runs} ({len(result.failed_runs)} failed), "
               f"listings stored: {result.listings}")
    click.echo(result.overall.summary())
    click.echo("\nPer marketplace:")
    click.echo(summary_table(result.per_marketplace, names))
    click.echo("\nRecall per disguise type:")
    click.echo(result.overall.table())
