"""``markwatch serve`` (the web app), ``markwatch users add`` and ``markwatch cases recheck``.

The web package is started by name (``web.app:create_app``), never imported: nothing imports it.
"""

from __future__ import annotations

import click

APP = "web.app:create_app"


def serve_web(host: str, port: int, *, log_level: str = "info") -> None:
    """Run the web app in this process until Ctrl-C or SIGTERM."""
    import uvicorn

    uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level.lower(),
                proxy_headers=False, server_header=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to bind (default: MARKWATCH_WEB_PORT, 8000).")
def serve(host: str, port: int | None) -> None:
    """Start the web app (review pages and the /api/v1 API) on the configured store.

    In embedded mode (no MARKWATCH_BROKER_URL) notices are sent by this process; with a broker
    they go to the Celery workers. Create the first user with ``markwatch users add``.
    """
    from markwatch.cli import _settings
    from markwatch.processes import port_taken

    s = _settings()
    port = port or s.web_port
    if port_taken(host, port):
        raise click.ClickException(f"port {port} on {host} is taken by another program: stop "
                                   "it, or set MARKWATCH_WEB_PORT (or --port) to a free port")
    click.echo(f"markwatch web app on http://{host}:{port}/ (store: {s.effective_database_url})")
    serve_web(host, port, log_level=s.log_level)


@click.group("users")
def users() -> None:
    """People who sign in to the web app."""


@users.command("add")
@click.option("--rights-holder", required=True, help="The rights holder's slug.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), default="reviewer",
              show_default=True)
@click.option("--name", default="")
@click.password_option(help="At least 10 characters (prompted when not given).")
def users_add(rights_holder: str, email: str, role: str, name: str, password: str) -> None:
    """Create a user of a rights holder."""
    import sqlalchemy as sa

    from db.accounts import create_user
    from db.models import RightsHolder
    from db.session import transaction
    from db.tenancy import Refused
    from markwatch.accounts import hash_password
    from markwatch.cli import _sessions

    try:
        pw = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    with transaction(_sessions()) as s:
        rh = s.scalar(sa.select(RightsHolder).where(RightsHolder.slug == rights_holder))
        if rh is None:
            raise click.ClickException(f"unknown rights holder {rights_holder!r}")
        try:
            create_user(s, rights_holder_id=rh.id, email=email, name=name, role=role,
                        password_hash=pw)
        except Refused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {email} ({role}) created for {rights_holder}")


@click.group("cases")
def cases() -> None:
    """Enforcement cases."""


@cases.command("recheck")
def cases_recheck() -> None:
    """Re-fetch the listings of open cases now (what beat runs on a schedule)."""
    from markwatch.cli import _sessions
    from tasks.enforcement import recheck

    click.echo(f"rechecked: {recheck(_sessions())}")
