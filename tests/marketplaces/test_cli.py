"""``markwatch marketplaces``: generate, and serve until SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from markwatch.cli.marketplaces_cmd import marketplaces

REPO = Path(__file__).resolve().parents[2]


def test_generate_writes_listings_and_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        marketplaces, ["generate", "--out", str(tmp_path), "--seed", "3", "--listings", "300"]
    )
    assert result.exit_code == 0, result.output
    labels = (tmp_path / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(labels) == 300
    row = json.loads(labels[0])
    assert set(row) == {
        "marketplace",
        "listing_id",
        "mark_registration",
        "infringing",
        "category",
        "disguise",
        "official_photo",
        "photo_edit",
        "seller_network",
    }
    assert "counterfeit_disguised" in result.output


def test_serve_prints_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MARKWATCH_DATA_DIR": str(tmp_path)}
    code = "from markwatch.cli.marketplaces_cmd import marketplaces; marketplaces()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", "0", "--listings", "300"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = [proc.stdout.readline().split()[-1] for _ in range(3)]
        assert all(u.startswith("http://127.0.0.1:") for u in urls)
        for u in urls:
            with urllib.request.urlopen(u + "/healthz", timeout=5) as r:
                assert r.status == 200
        assert (tmp_path / "marketplaces" / "labels.jsonl").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""  # quiet by default
    finally:
        if proc.poll() is None:
            proc.kill()
