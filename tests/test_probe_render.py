"""The probe's browser (``markwatch/render.py``): a real chromium on loopback, the crawl's
request guard on everything a page asks for, and a clear error for a page that never settles."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from markwatch.render import BrowserUnavailable, Renderer, RenderError, RenderTimeout

CHROMIUM = Path("/usr/bin/chromium")

RESTLESS = b"""<!DOCTYPE html><html><body><div id="app"></div><script>
setInterval(() => fetch("/poll"), 150);
</script></body></html>"""


@contextmanager
def _server(pages: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = pages.get(self.path.split("?")[0], b"")
            self.send_response(200 if body or self.path.startswith("/poll") else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
    assert hits.count("/") == 3 and "/poll" in hits


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
