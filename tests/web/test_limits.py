"""Request bodies are bounded before they are read and before authentication: a declared
oversized body is refused unread, a chunked one is cut off at the limit, and the server's memory
does not follow what an unauthenticated client sends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx

from tests.web.conftest import LiveServer

MB = 1024 * 1024


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _raw(server: LiveServer, head: str, timeout: float = 10) -> tuple[int, float]:
    """Send only the request head (no body) and read the status line."""
    host, port = server.base.removeprefix("http://").split(":")
    t = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split()[1]), time.perf_counter() - t


def test_a_declared_oversized_body_is_refused_unread(live_server: LiveServer) -> None:
    # 300 MB declared, nothing sent: the answer comes at once, without waiting for the body
    status, seconds = _raw(live_server, "POST /api/v1/alerts/bulk HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n")
    assert status == 413 and seconds < 5
    status, _ = _raw(live_server, "POST /registry/import HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: multipart/form-data; boundary=x\r\n"
                     "Content-Length: 838860800\r\n\r\n")
    assert status == 413


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    block = b"[" + b"1," * (size // 2 - 1) + b"1]"
    sent = 0
    while sent < total:
        yield block
        sent += len(block)


def test_a_chunked_body_is_cut_off_before_authentication(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base, timeout=30) as c:
        r = c.post("/api/v1/alerts/bulk", content=_chunks(8 * MB),
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text[:300]
        # within the limit, the same request is answered by authentication as before
        r = c.post("/api/v1/alerts/bulk", json={"alert_ids": [1], "action": "confirm"})
        assert r.status_code == 401


def test_unauthenticated_bodies_do_not_grow_the_server(live_server: LiveServer) -> None:
    before = _rss_mb(live_server.proc.pid)
    statuses: list[int] = []

    def flood(path: str, ctype: str) -> None:
        with httpx.Client(base_url=live_server.base, timeout=60) as c:
            try:
                statuses.append(c.post(path, content=_chunks(60 * MB),
                                       headers={"Content-Type": ctype}).status_code)
            except httpx.TransportError:
                statuses.append(413)  # cut off mid-upload: the server closed the connection

    threads = [threading.Thread(target=flood, args=a) for a in [
        ("/api/v1/alerts/bulk", "application/json"), ("/api/v1/marks", "application/json"),
        ("/registry/import", "multipart/form-data; boundary=zz"),
        ("/registry/documents", "multipart/form-data; boundary=zz")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    grown = _rss_mb(live_server.proc.pid) - before
    from tests.faults.helpers import record

    record("13 oversized bodies refused unread", len(threads), None, None,
           f"{len(threads)} x 60 MB without credentials: {sorted(statuses)}; server grew "
           f"{grown:.1f} MB")
    assert statuses and set(statuses) <= {413, 400}, statuses
    assert grown < 40, f"the server grew by {grown:.0f} MB for 240 MB of refused bodies"
