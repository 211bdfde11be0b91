"""schemathesis against /openapi.json of the running server: no server errors anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.conftest import api_token

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_server_errors(live_server, tmp_path):
    token = api_token(live_server.url, "admin@molang-cosmetics.example")
    argv = [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{live_server.base}/openapi.json",
        "--checks", "not_a_server_error",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", "15",
        "--phases", "examples,coverage,fuzzing",
        "--generation-deterministic",
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=400, env=env,
                          cwd=tmp_path)
    out = proc.stdout + proc.stderr
    (Path(live_server.log.parent) / "schemathesis.txt").write_text(out)
    print(out[-2500:])
    assert proc.returncode == 0, out[-6000:]
    m = re.search(r"(\d+) generated, (\d+) passed", out)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) > 500, out[-3000:]
