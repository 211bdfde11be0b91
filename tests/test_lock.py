"""The install a new machine gets is the one that was tested: every dependency in
pyproject.toml is pinned in the lock files at a version its bounds allow, and nothing the
project no longer asks for stays pinned as a direct dependency. `make lock` fixes a mismatch."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO

LOCKS = {"requirements.lock": ["dependencies"],
         "requirements-test.lock": ["dependencies", "test"]}


def _declared(groups: list[str]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = []
    for g in groups:
        reqs = project["dependencies"] if g == "dependencies" else \
            project["optional-dependencies"][g]
        out += [Requirement(r) for r in reqs]
    return out


def _pins(lock: str) -> tuple[dict[str, Version], set[str]]:
    """Pinned versions, and the packages the lock says the project itself asked for."""
    text = (REPO / lock).read_text()
    pins: dict[str, Version] = {}
    direct: set[str] = set()
    current = None
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if m:
            current = canonicalize_name(m.group(1))
            pins[current] = Version(m.group(2))
        elif current and "markwatch (pyproject.toml)" in line:
            direct.add(current)
    return pins, direct


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_what_pyproject_asks_for(lock: str) -> None:
    pins, direct = _pins(lock)
    declared = _declared(LOCKS[lock])
    wrong = []
    for req in declared:
        name = canonicalize_name(req.name)
        if name not in pins:
            wrong.append(f"{req} is not in {lock}")
        elif not req.specifier.contains(pins[name], prereleases=True):
            wrong.append(f"{lock} pins {name}=={pins[name]}, outside {req}")
    names = {canonicalize_name(r.name) for r in declared}
    # pinned only because something else needs it: the lock predates the new dependency
    wrong += [f"{lock} does not record {n} as asked for by the project" for n in
              sorted(names - direct) if n in pins]
    stale = direct - names
    wrong += [f"{lock} still pins {n} for the project, which no longer asks for it"
              for n in sorted(stale)]
    assert not wrong, "run `make lock`:\n" + "\n".join(wrong)


def test_the_makefile_installs_from_the_locks() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "pip install -q -r $(LOCK)" in makefile
    assert "pip install -q -r $(TEST_LOCK)" in makefile
    assert "--no-deps -e ." in makefile  # the project itself adds nothing unpinned
