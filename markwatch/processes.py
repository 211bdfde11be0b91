"""Start and stop the pipeline's processes (worker, beat, test marketplaces) as children.

Used by ``markwatch demo`` and by the tests, which run the same processes production runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


class ProcessFailed(RuntimeError):
    pass


def port_taken(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be bound now (as a server binds it: with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def require_free_ports(host: str, ports: list[int], *, setting: str, what: str) -> None:
    """Refuse to start when a port is taken, naming the setting that moves it: found before
    minutes of work, not after."""
    taken = [p for p in ports if port_taken(host, p)]
    if taken:
        span = f"{ports[0]}-{ports[-1]}" if len(ports) > 1 else str(ports[0])
        raise ProcessFailed(
            f"{what} need{'s' if len(ports) == 1 else ''} port{'s' if len(ports) > 1 else ''} "
            f"{span} on {host}, and {', '.join(map(str, taken))} "
            f"{'is' if len(taken) == 1 else 'are'} taken by another program: stop it, or set "
            f"{setting} to a free port")


class Child:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: Sequence[str], *, env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() reaches pool children too
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise ProcessFailed(f"{self.name} exited early; see {self.log_path}:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:
            # the leader is gone; make sure no orphaned pool children are left
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def worker_argv(*, concurrency: int, name: str = "worker", loglevel: str = "INFO",
                queues: str = "markwatch,crawl") -> list[str]:
    """A Celery worker; by default it serves both queues (matching and crawls)."""
    return [
        sys.executable, "-m", "celery", "-A", "tasks.app", "worker", "--queues", queues,
        "--loglevel", loglevel, "--concurrency", str(concurrency), "--hostname", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]


def beat_argv(*, schedule_file: Path, loglevel: str = "INFO") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "tasks.app", "beat", "--loglevel", loglevel,
            "--schedule", str(schedule_file)]


def marketplaces_argv(*, host: str, port: int, seed: int, listings: int) -> list[str]:
    return [sys.executable, "-m", "markwatch.cli", "marketplaces", "serve", "--host", host,
            "--port", str(port), "--seed", str(seed), "--listings", str(listings)]


def wait_http(urls: Sequence[str], *, timeout: float, child: Child | None = None) -> None:
    """Wait until every URL answers 200."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if child is not None:
            child.check_alive()
        try:
            with urllib.request.urlopen(pending[0], timeout=2) as resp:
                if resp.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ProcessFailed(f"{pending[0]} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running(*children: Child) -> Iterator[tuple[Child, ...]]:
    started: list[Child] = []
    try:
        for c in children:
            started.append(c.start())
        yield children
    finally:
        for c in reversed(started):
            c.stop()
