"""What every table, view and column means (flows/catalog.toml), as COMMENT ON text.

The warehouse module applies these at every build; this module only decides the words.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from flows.sources import ENTITY_KEYS

CATALOG_FILE = Path(__file__).with_name("catalog.toml")


@cache
def _catalog() -> dict[str, Any]:
    with CATALOG_FILE.open("rb") as f:
        return tomllib.load(f)


def _raw_parts(table: str) -> tuple[str, str] | None:
    """raw_<source>__<entity> -> (source, entity)."""
    if not table.startswith("raw_") or "__" not in table:
        return None
    source, entity = table[4:].split("__", 1)
    return source, entity


def view_comment(sql_text: str) -> str | None:
    """A view's comment: the grain line at the top of its sql/<view>.sql file."""
    first = sql_text.lstrip().splitlines()[0] if sql_text.strip() else ""
    return first.removeprefix("--").strip() or None


def table_comment(table: str) -> str | None:
    entry = _catalog().get("tables", {}).get(table)
    if entry is not None:
        return str(entry["comment"])
    parts = _raw_parts(table)
    if parts is None:
        return None
    source, entity = parts
    key = ENTITY_KEYS.get((source, entity), "its id")
    return (
        f"grain: one {entity} record of the {source} source, keyed by {key}, newest version "
        f"(parsed by flows/sources/{source}.py; lineage in _run_id, _fetched_at, "
        "_response_sha256, _record_hash)"
    )


def column_comment(kind: str, relation: str, column: str) -> str | None:
    """kind: 'table' or 'view'. The relation's own entry, else the glossary, else (raw tables
    only) the source field it holds."""
    cat = _catalog()
    section = "tables" if kind == "table" else "views"
    own = cat.get(section, {}).get(relation, {}).get("columns", {})
    if column in own:
        return str(own[column])
    if column in cat["columns"]:
        return str(cat["columns"][column])
    parts = _raw_parts(relation) if kind == "table" else None
    if parts is not None:
        source, entity = parts
        return f"`{column}` of the {source} {entity} record, as the source gives it"
    return None
