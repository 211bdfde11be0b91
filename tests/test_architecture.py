"""The layout tells the architecture: these import rules keep it true (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# package (or sub-path) -> top-level modules it must not import
FORBIDDEN = {
    "matcher": {"db", "tasks", "crawler", "web", "markwatch", "fixtures", "storage", "scrapy", "celery",
                "sqlalchemy", "alembic", "twisted", "fastapi", "starlette"},
    "db": {"tasks", "crawler", "web", "markwatch", "matcher", "fixtures", "scrapy", "celery"},
    "crawler/spiders": {"db", "tasks", "web", "markwatch", "matcher", "sqlalchemy", "celery"},
    "crawler/items.py": {"db", "tasks", "web", "markwatch", "matcher", "sqlalchemy", "celery"},
    "crawler": {"tasks", "web", "matcher", "celery"},
    "tasks": {"web", "crawler"},
    # Scrapy-free parts of the crawler that other processes use (the SSRF rules and the guarded
    # HTTP client): no Scrapy or Twisted in them
    "crawler/ssrf.py": {"scrapy", "twisted", "db", "tasks", "web", "markwatch", "sqlalchemy"},
    "crawler/outbound.py": {"scrapy", "twisted", "db", "tasks", "web", "sqlalchemy"},
    # the marketplace profile schema: the registry stores it, beat checks it before queueing
    "crawler/profile.py": {"scrapy", "twisted", "db", "tasks", "web", "markwatch", "sqlalchemy"},
    "fixtures": {"db", "tasks", "crawler", "matcher", "web"},
    # object storage is a leaf: bytes in, bytes out, nothing of ours
    "storage": {"db", "tasks", "crawler", "web", "markwatch", "matcher", "fixtures", "scrapy",
                "celery", "sqlalchemy"},
}


#: modules a forbidden package still lends: the guarded HTTP client every outbound fetch uses,
#: and the marketplace profile schema (what the registry stores and checks)
ALLOWED = {"crawler.outbound", "crawler.ssrf", "crawler.profile"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names
                         if alias.name not in ALLOWED)
        elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
              and node.module not in ALLOWED):
            found.add(node.module.split(".")[0])
    return found


def _files(sub: str) -> list[Path]:
    p = REPO / sub
    return [p] if p.is_file() else sorted(p.rglob("*.py"))


@pytest.mark.parametrize("sub", sorted(FORBIDDEN))
def test_import_rules(sub: str) -> None:
    files = _files(sub)
    assert files, f"{sub} has no Python files"
    bad = []
    for f in files:
        if "migrations/versions" in f.as_posix():
            continue
        hits = imported_modules(f) & FORBIDDEN[sub]
        if hits:
            bad.append(f"{f.relative_to(REPO)} imports {sorted(hits)}")
    assert not bad, "\n".join(bad)


def test_every_store_module_imports_first() -> None:
    """Each ``db`` module imports cleanly when it is the first one a process imports (the
    models import the table modules at their end, so a table module that imports another
    at its top can find it half-built: ``markwatch users add`` once failed so)."""
    import subprocess
    import sys

    mods = sorted(f"db.{p.stem}" for p in (REPO / "db").glob("*.py") if p.stem != "__init__")
    procs = {m: subprocess.Popen([sys.executable, "-c", f"import {m}"], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for m in mods}
    bad = {}
    for m, p in procs.items():
        _, err = p.communicate(timeout=120)
        if p.returncode:
            bad[m] = err.strip().splitlines()[-1]
    assert not bad, bad
