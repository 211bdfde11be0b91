"""A taken port is found before any work, and the error names the setting that moves it.

Before: ``make demo`` crawled for minutes, printed the web app's URL and then died on a taken
port 8000; there was no setting for the web port; the marketplaces' error named no setting."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from markwatch.cli import main
from markwatch.processes import ProcessFailed, port_taken, require_free_ports
from markwatch.settings import get_settings


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def _run(monkeypatch, env: dict[str, str], *args: str):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        get_settings.cache_clear()


def test_port_taken_sees_a_listener(taken):
    assert port_taken("127.0.0.1", taken)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert not port_taken("127.0.0.1", free)
    with pytest.raises(ProcessFailed, match=rf"ports {taken}-{taken + 2} on 127.0.0.1, and "
                       rf"{taken} is taken .* set MARKWATCH_MARKETPLACES_PORT"):
        require_free_ports("127.0.0.1", [taken, taken + 1, taken + 2],
                           setting="MARKWATCH_MARKETPLACES_PORT", what="the test marketplaces")


def test_the_web_port_is_a_setting_and_a_taken_one_is_named(monkeypatch, taken):
    r = _run(monkeypatch, {"MARKWATCH_WEB_PORT": str(taken)}, "serve")
    assert r.exit_code == 1
    assert f"port {taken} on 127.0.0.1 is taken" in r.output
    assert "MARKWATCH_WEB_PORT" in r.output


def test_the_demo_refuses_a_taken_web_port_before_it_crawls(monkeypatch, taken, tmp_path):
    r = _run(monkeypatch, {"MARKWATCH_WEB_PORT": str(taken)},
             "demo", "--serve", "--data-dir", str(tmp_path / "demo"))
    assert r.exit_code == 1, r.output
    assert f"the web app needs port {taken}" in r.output and "MARKWATCH_WEB_PORT" in r.output
    assert "crawls" not in r.output and "The web app: http" not in r.output
    assert not (tmp_path / "demo" / "markwatch.db").exists()  # nothing was started


def test_the_demo_names_the_marketplaces_port_setting(monkeypatch, taken, tmp_path):
    r = _run(monkeypatch, {"MARKWATCH_MARKETPLACES_PORT": str(taken)},
             "demo", "--data-dir", str(tmp_path / "demo"))
    assert r.exit_code == 1, r.output
    # three shops and one port for the five South-East Asian storefronts: four ports, not eight
    assert f"the test marketplaces need ports {taken}-{taken + 3} on 127.0.0.1" in r.output
    assert "set MARKWATCH_MARKETPLACES_PORT to a free port" in r.output
