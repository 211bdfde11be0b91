"""The probe's browser (``markwatch/render.py``): a real chromium on loopback, the crawl's
request guard on everything a page asks for, and a clear error for a page that never settles."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from markwatch.render import BrowserUnavailable, Renderer, RenderError, RenderTimeout

CHROMIUM = Path("/usr/bin/chromium")

#: a page that always has a request in flight (each poll answers after 0.3 s, then the next)
RESTLESS = b"""<!DOCTYPE html><html><body><div id="app"></div><script>
(async () => { for (;;) { try { await fetch("/poll?" + Date.now()); } catch (e) {} } })();
</script></body></html>"""


@contextmanager
def _server(pages: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = pages.get(self.path.split("?")[0], b"")
            polled = self.path.startswith("/poll")
            if polled:
                time.sleep(0.3)
            try:
                self.send_response(200 if body or polled else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the browser went away while a poll waited
                pass

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", hits
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_page_that_never_settles_times_out_with_a_clear_message() -> None:
    with _server({"/": RESTLESS}) as (netloc, hits), \
            Renderer(CHROMIUM, netloc, timeout_ms=2500) as r:
        with pytest.raises(RenderTimeout, match=r"did not settle in the browser within 2\.5 s: "
                                                r"its network never went quiet"):
            r.render(f"http://{netloc}/")
        with pytest.raises(RenderTimeout, match=r"nothing matched 'section\.hits'"):
            r.render(f"http://{netloc}/", "section.hits")
        assert r.render(f"http://{netloc}/", "#app").status == 200  # the same browser goes on
    assert hits.count("/") == 3 and any(h.startswith("/poll") for h in hits)


def test_the_probe_browser_guards_what_the_page_asks_for() -> None:
    """Vitrine's search page also asks for a beacon on a private address off the allow-list:
    the probe's browser never sends it, as the crawl's does not."""
    from fixtures.marketplaces import generate
    from fixtures.marketplaces.jsshop import SHOP, JsShop, vitrine_listings
    from fixtures.marketplaces.server import running_shop

    with _server({}) as (canary, canary_hits):
        shop = JsShop(SHOP, vitrine_listings(generate(7, 100)), beacon=f"http://{canary}/b")
        with running_shop(shop) as url, Renderer(CHROMIUM, url.split("://")[1]) as r:
            page = r.render(f"{url}/recherche?q=kestrel", "section.hits")
        assert 'class="hits"' in page.html and "/annonce/VT" in page.html
        assert canary_hits == [] and sum(r.blocked.values()) == 1
        # the shop itself is refused when it is not on the allow-list
        with running_shop(shop) as url, Renderer(CHROMIUM, "") as r, pytest.raises(
                RenderError, match="could not be loaded in the browser"):
            r.render(f"{url}/recherche?q=kestrel")


def test_no_browser_is_a_clear_error(tmp_path: Path) -> None:
    with Renderer(tmp_path / "chromium") as r, pytest.raises(
            BrowserUnavailable, match="MARKWATCH_CRAWL_BROWSER"):
        r.render("http://127.0.0.1:9/")


def test_probe_and_draft_say_a_page_never_settled(monkeypatch, tmp_path: Path) -> None:
    """Through the command line, with MARKWATCH_CRAWL_BROWSER_TIMEOUT: a stored profile's
    search page that never shows its results is reported as such, and a draft whose search
    page never goes quiet stops with the reason."""
    from click.testing import CliRunner

    from markwatch.cli import main
    from markwatch.settings import get_settings

    home = b'<!DOCTYPE html><html><body><form action="/s"><input name="q"></form></body></html>'
    with _server({"/": home, "/s": RESTLESS}) as (netloc, _hits):
        monkeypatch.setenv("MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS", netloc)
        monkeypatch.setenv("MARKWATCH_CRAWL_BROWSER_TIMEOUT", "2")
        get_settings.cache_clear()
        profile = tmp_path / "restless.toml"
        profile.write_text(f'code = "restless"\nname = "Restless"\nbase_url = "http://{netloc}"\n'
                           'render = "browser"\n[search]\nurl = "/s?q={term}"\n[results]\n'
                           'links = "a.hit::attr(href)"\nwait_for = "section.hits"\n[product]\n'
                           'listing_id = "/p/([^/?#]+)"\n', encoding="utf-8")
        r = CliRunner().invoke(main, ["marketplaces", "probe", str(profile), "--term", "k"])
        assert r.exit_code == 0, r.output
        assert (f"http://{netloc}/s?q=k did not settle in the browser within 2 s: nothing "
                "matched 'section.hits'") in r.output and "no result links found" in r.output
        r = CliRunner().invoke(main, ["marketplaces", "probe", f"http://{netloc}/", "--term", "k"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert (f"cannot draft a profile for http://{netloc}/: http://{netloc}/s?q=k did not settle "
            "in the browser within 2 s: its network never went quiet") in r.output
