"""One typed settings object, documented in the README."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from markwatch.settings import Settings, get_settings
from tests.conftest import REPO


def test_defaults_are_embedded(tmp_path):
    s = get_settings()
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.uses_embedded_broker
    assert s.data_dir.is_absolute()


def test_environment_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("MARKWATCH_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MARKWATCH_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MARKWATCH_TIER_HIGH", "95")
    s = Settings()
    assert s.effective_database_url == "postgresql+psycopg://u@h/db"
    assert not s.uses_embedded_broker and s.tier_high == 95
    monkeypatch.setenv("MARKWATCH_TIER_LOW", "99")
    with pytest.raises(ValidationError, match="tier thresholds"):
        Settings()
    monkeypatch.setenv("MARKWATCH_TIER_LOW", "forty")
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_embedded_defaults(monkeypatch):
    monkeypatch.setenv("MARKWATCH_ENV", "production")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings()
    monkeypatch.setenv("MARKWATCH_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MARKWATCH_BROKER_URL", "redis://r:6379/0")
    monkeypatch.setenv("MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED", "1")
    with pytest.raises(ValidationError, match="tests and demos only"):
        Settings()


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(MARKWATCH_[A-Z0-9_]+)`", readme))
    fields = {f"MARKWATCH_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from the README"
    assert {d for d in documented if not d.startswith("MARKWATCH_TEST_")} - fields == set(), (
        "README documents settings that do not exist"
    )
