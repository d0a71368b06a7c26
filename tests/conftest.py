"""Shared test fixtures: paths to the recorded upstream payloads and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "source-fixtures"


def shared_fixture_dir(slug: str) -> Path:
    """../shared/source-fixtures/<slug>: genuine API responses (not project files)."""
    path = SHARED_FIXTURES / slug
    if not path.is_dir():
        raise FileNotFoundError(f"recorded upstream payloads missing: {path} (the shared/ folder beside the repo)")
    return path


def shared_files(slug: str) -> list[Path]:
    return sorted(p for p in shared_fixture_dir(slug).iterdir() if p.name != "SOURCES.md")


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENALEX_API_KEY", raising=False)
    monkeypatch.delenv("S2_API_KEY", raising=False)
