"""Helpers for tests that run the pipeline's real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from markwatch.processes import Child, child_env, worker_argv


def start_worker(tmp_path: Path, *, name: str = "w1", concurrency: int = 2, **env: str) -> Child:
    return Child(
        name,
        worker_argv(concurrency=concurrency, name=name, loglevel="INFO"),
        env=child_env(**env),
        log_path=tmp_path / f"{name}.log",
    ).start()


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str,
             child: Child | None = None, interval: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if child is not None:
            child.check_alive()
        if time.monotonic() > deadline:
            tail = f"\n{child.name} log:\n{child.tail(60)}" if child else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
        time.sleep(interval)
