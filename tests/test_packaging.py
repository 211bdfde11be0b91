"""What production installs is what the repository holds: the wheel carries every tracked file
of the project's packages (templates, styles, scripts, data files, migrations), and the image
copies every package before installing it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _packages() -> list[str]:
    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [p.rstrip("*") for p in conf["tool"]["setuptools"]["packages"]["find"]["include"]]


def test_the_wheel_carries_every_tracked_file_of_the_packages(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", *_packages()], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.split()
    assert tracked
    src = tmp_path / "src"  # a clean copy: an in-tree build/ would hide what the rules leave out
    for f in [*tracked, "pyproject.toml", "README.md"]:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / f, src / f)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in tracked if f not in inside and not f.endswith(".md")]
    assert not missing, f"tracked but not installed: {missing}"


def test_the_image_copies_every_package() -> None:
    copied = set(re.findall(r"^COPY (\w+) \1$", (REPO / "Dockerfile").read_text(), re.M))
    assert set(_packages()) <= copied, set(_packages()) - copied
