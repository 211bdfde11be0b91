"""``markwatch marketplaces``: the bundled test marketplaces (serve them, or just write the data)."""

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
    """The bundled test marketplaces: three shops and a South-East Asian one (a storefront per
    country) on loopback, with ground-truth labels."""


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
        raise click.ClickException(f"cannot serve the test marketplaces: {exc}") from None


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
def score_cmd(only: str, seed: int | None, listings: int | None, sea_listings: int | None,
              work_dir: Path) -> None:
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
            on_step=lambda msg: click.echo(f"• {msg}", err=True),
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
