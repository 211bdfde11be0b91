"""Hostile responses, one route each, for ``FaultServer``: what a marketplace page could do to a
crawler that trusts it."""

from __future__ import annotations

import functools
import struct
import time
import zlib

from tests.faults.servers import Handler, Route, product_page, static

BOMB_BYTES = 1 << 30  # each bomb decompresses to 1 GiB (the crawl's memory promise is 512 MB)


@functools.cache
def _bomb(encoding: str) -> bytes:
    chunk = b"\0" * (1 << 20)
    if encoding == "br":
        import brotli

        c = brotli.Compressor(quality=5)
        return b"".join([*(c.process(chunk) for _ in range(BOMB_BYTES >> 20)), c.finish()])
    wbits = 31 if encoding == "gzip" else 15  # gzip container, or zlib ("deflate" on the wire)
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(z.compress(chunk) for _ in range(BOMB_BYTES >> 20)), z.flush()])


@functools.cache
def huge_png(side: int = 7072) -> bytes:
    """A valid 7072 x 7072 (50-megapixel) greyscale PNG of about 50 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    z = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    idat = b"".join([*(z.compress(row) for _ in range(side)), z.flush()])
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb(encoding: str) -> Route:
    def route(h: Handler) -> None:
        body = _bomb(encoding)
        h.send(200, body, "text/html; charset=utf-8", {"Content-Encoding": encoding})

    return route


def endless(h: Handler) -> None:
    """A body that never ends (no length, 64 KiB at a time until the client gives up)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    block = b"<p>" + b"x" * 65533
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        h.wfile.write(block)


def headers_then_hang(h: Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "5000")
    h.end_headers()
    h.wfile.flush()
    time.sleep(20)
    h.close_connection = True


def dropped_mid_body(h: Handler) -> None:
    page = product_page("Never complete")
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(page) + 100_000))
    h.end_headers()
    h.wfile.write(page)
    h.wfile.flush()
    h.close_connection = True
    import socket

    h.connection.shutdown(socket.SHUT_RDWR)


def redirect(location: str, status: int = 302) -> Route:
    return static(status, b"", "text/html", {"Location": location})


def endless_redirects(h: Handler) -> None:
    """/item/chain?n=1 -> ?n=2 -> ... (every URL new, so only REDIRECT_MAX_TIMES ends it)."""
    from urllib.parse import parse_qs, urlsplit

    n = int(parse_qs(urlsplit(h.path).query).get("n", ["0"])[0])
    h.send(302, b"", "text/html", {"Location": f"/item/chain?n={n + 1}"})


def deep_html(depth: int = 5000) -> Route:
    """5,000 nested elements, the product data after them."""
    page = product_page("Deep listing")
    _head, tail = page.split(b"<script", 1)
    body = b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth
    return static(200, body + b"<script" + tail)


def bad_charset(h: Handler) -> None:
    """An unknown charset name and bytes that are not valid in any declared one."""
    page = product_page("Bad charset listing caf\u00e9").replace(b"<h1>", b"<h1>\xff\xfe\x80\xc3(")
    h.send(200, page, "text/html; charset=x-no-such-charset")


def lying_charset(h: Handler) -> None:
    """UTF-8 bytes declared as UTF-16: decodes to nonsense."""
    h.send(200, product_page("Lying charset listing"), "text/html; charset=utf-16")


def image_as_page(h: Handler) -> None:
    h.send(200, huge_png(), "image/png")


def listing_with_huge_image(h: Handler) -> None:
    h.send(200, product_page("Listing with a 50 MP image", image="/img/huge.png"))
