"""Paths and environment: one place that knows where things live."""

from __future__ import annotations

import os
from pathlib import Path

from transforms.specs import SECRET_ENV as _SPEC_SECRETS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The views: `sql/` at the top of a checkout (also what an editable install uses), installed
# from a wheel as the data package `flows/sql/` (see pyproject.toml).
_PACKAGED_SQL = Path(__file__).resolve().parent / "sql"
SQL_DIR = _PACKAGED_SQL if _PACKAGED_SQL.is_dir() else PROJECT_ROOT / "sql"
DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_RECORDING = DEMO_DIR / "recording"
DEFAULT_WATCHLIST = Path("watchlist.toml")
DEFAULT_WAREHOUSE = Path("warehouse") / "scholarflow.duckdb"
# Curated corrections, read from beside the watchlist unless --overrides names another file.
OVERRIDES_FILENAME = "overrides.toml"

# Environment variables carrying secrets (each source's SPEC.secret_env): read at call time,
# never written anywhere.
SECRET_ENV: dict[str, str] = _SPEC_SECRETS


class MissingViews(RuntimeError):
    """The SQL view files are not where they should be (an incomplete installation)."""


def sql_dir() -> Path:
    """The directory of the view files; an error if it is missing or holds none, rather than
    a warehouse built without its views and reports."""
    if not any(SQL_DIR.glob("*.sql")):
        raise MissingViews(
            f"no SQL view files in {SQL_DIR}: this installation of scholarflow is incomplete "
            "(reinstall it; from a checkout, `sql/` must be beside `flows/`)"
        )
    return SQL_DIR


def warehouse_path(cli_value: str | None = None) -> Path:
    """--warehouse beats SCHOLARFLOW_WAREHOUSE beats the default."""
    raw = cli_value or os.environ.get("SCHOLARFLOW_WAREHOUSE") or str(DEFAULT_WAREHOUSE)
    return Path(raw).expanduser()


def reports_dir(warehouse: Path) -> Path:
    return warehouse.parent / "reports"


def drift_dir(warehouse: Path, run_id: str) -> Path:
    """Where pages that no longer parse (scraper drift) are saved for inspection."""
    return warehouse.parent / "drift" / run_id


def secret(source: str) -> str | None:
    name = SECRET_ENV.get(source)
    value = os.environ.get(name, "").strip() if name else ""
    return value or None
