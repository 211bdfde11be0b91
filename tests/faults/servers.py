"""Local HTTP servers for the fault tests: one per scenario, on 127.0.0.1 (and ::1), free ports.

``FaultServer`` answers from a table of routes, each a function that may write anything to the
socket (a well-formed response, headers and then nothing, half a body, an endless body). It keeps
its own request log with server-side start and end times and the number of requests in flight,
so politeness is measured where it matters: at the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Route = Callable[["Handler"], None]


@dataclass
class Hit:
    method: str
    path: str
    started: float  # time.monotonic() when the request line was read
    ended: float  # when the handler returned (0 while it runs)
    in_flight: int  # requests in flight at this server when this one started, itself included


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "FaultServer/1.0"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        owner = self.server.owner
        started = time.monotonic()
        with owner.lock:
            owner.in_flight += 1
            hit = Hit(self.command, self.path, started, 0.0, owner.in_flight)
            owner.hits.append(hit)
        try:
            path = urlsplit(self.path).path
            route = owner.routes.get(path) or owner.routes.get(self.path)
            if route is None:
                for prefix, r in owner.prefix_routes:
                    if path.startswith(prefix):
                        route = r
                        break
            try:
                if route is None:
                    self.send(404, b"not found", "text/plain")
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True
        finally:
            with owner.lock:
                owner.in_flight -= 1
                hit.ended = time.monotonic()

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_POST = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class FaultServer:
    """``routes``: exact path -> route; ``prefix_routes``: [(prefix, route)] tried in order."""

    def __init__(self, routes: dict[str, Route] | None = None,
                 prefix_routes: list[tuple[str, Route]] | None = None, *, ipv6: bool = False):
        self.routes = dict(routes or {})
        self.prefix_routes = list(prefix_routes or [])
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.ipv6 = ipv6
        self._servers: list[_Server] = []
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FaultServer:
        srv = _Server(("127.0.0.1", 0), Handler)
        srv.owner = self
        self.port = srv.server_address[1]
        self._servers.append(srv)
        if self.ipv6:  # the same port on ::1, so [::1] tricks would land here if not blocked
            with contextlib.suppress(OSError):
                srv6 = _Server6(("::1", self.port), Handler)
                srv6.owner = self
                self._servers.append(srv6)
        for s in self._servers:
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True).start()
        return self

    def stop(self) -> None:
        for s in self._servers:
            s.shutdown()
            s.server_close()

    def paths(self) -> list[str]:
        with self.lock:
            return [h.path for h in self.hits]


@contextlib.contextmanager
def serving(*servers: FaultServer) -> Iterator[tuple[FaultServer, ...]]:
    for s in servers:
        s.start()
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


# -- pages ---------------------------------------------------------------------------------------

ROBOTS_ALLOW = b"User-agent: *\nDisallow: /private/\n"


def search_page(links: list[str]) -> bytes:
    """A results page the shop a profile reads (shop a's markup)."""
    items = "".join(f'<li class="result"><a class="result-link" href="{u}">{i}</a></li>'
                    for i, u in enumerate(links))
    return f"<html><body><ol class='results'>{items}</ol></body></html>".encode()


def product_page(title: str, *, price: str = "19.99", image: str | None = None,
                 seller_url: str | None = None, extra_head: str = "", body: str = "") -> bytes:
    import json

    data = {"@context": "https://schema.org", "@type": "Product", "name": title,
            "offers": {"@type": "Offer", "price": price, "priceCurrency": "USD"}}
    if image:
        data["image"] = [image]
    if seller_url:
        data["offers"]["seller"] = {"@type": "Organization", "name": "Seller", "url": seller_url}
    ld = json.dumps(data)
    return (f'<html><head>{extra_head}<script type="application/ld+json">{ld}</script></head>'
            f"<body><h1>{title}</h1>{body}</body></html>").encode()


def static(status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
           headers: dict[str, str] | None = None, delay: float = 0.0) -> Route:
    def route(h: Handler) -> None:
        if delay:
            time.sleep(delay)
        h.send(status, body, ctype, headers)

    return route


def shop_routes(n_items: int, *, latency: float = 0.0, robots: Route | None = None,
                prefix: str = "ok") -> tuple[dict[str, Route], list[tuple[str, Route]]]:
    """A small healthy shop: /robots.txt, /search (``n_items`` links), /item/<prefix>-<i>."""
    links = [f"/item/{prefix}-{i}" for i in range(n_items)]

    def item(h: Handler) -> None:
        if latency:
            time.sleep(latency)
        name = urlsplit(h.path).path.rsplit("/", 1)[-1]
        h.send(200, product_page(f"Healthy listing {name}"))

    return (
        {"/robots.txt": robots or static(200, ROBOTS_ALLOW, "text/plain", delay=latency),
         "/search": static(200, search_page(links), delay=latency)},
        [("/item/", item)],
    )
