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
    """The bundled test marketplaces: three shops on loopback, with ground-truth labels."""


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
    """Serve the three test shops until Ctrl-C or SIGTERM.

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
def generate_cmd(out: Path, seed: int | None, listings: int | None) -> None:
    """Write the test listings and their labels without serving them."""
    from collections import Counter

    from fixtures.marketplaces.generator import generate, write

    s = _settings()
    cat = generate(
        s.marketplaces_seed if seed is None else seed,
        s.marketplaces_listings if listings is None else listings,
    )
    paths = write(cat, out)
    counts = Counter(lab.category for lab in cat.labels)
    click.echo(f"{len(cat.listings)} listings -> {paths[0]}, labels -> {paths[1]}")
    for category, n in sorted(counts.items()):
        click.echo(f"  {category:<22} {n}")
