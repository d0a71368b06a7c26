"""Architecture rules, checked on the import graph of the source tree."""

from __future__ import annotations

import ast
import graphlib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_MODULES = {
    "duckdb",
    "httpx",
    "requests",
    "urllib.request",
    "socket",
    "prefect",
    "pathlib",
    "os",
    "shutil",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def py_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", py_files("flows/sources"), ids=lambda p: p.name)
def test_source_modules_do_no_orchestration_storage_or_dataframes(path: Path) -> None:
    assert not top(imports_of(path)) & {"prefect", "duckdb", "polars"}, path


@pytest.mark.parametrize("path", py_files("transforms"), ids=lambda p: p.name)
def test_transforms_are_pure_polars(path: Path) -> None:
    used = imports_of(path)
    assert not top(used) & {"duckdb", "httpx", "prefect", "requests", "flows"}, path
    assert not used & IO_MODULES, path


def test_duckdb_is_imported_in_exactly_one_module() -> None:
    users = [
        p.relative_to(ROOT).as_posix()
        for p in py_files("flows") + py_files("transforms")
        if "duckdb" in top(imports_of(p))
    ]
    assert users == ["flows/warehouse.py"]


def test_prefect_only_in_the_flow_module() -> None:
    users = [
        p.relative_to(ROOT).as_posix() for p in py_files("flows") if "prefect" in top(imports_of(p))
    ]
    assert users == ["flows/pipeline.py"]


def test_http_goes_through_the_shared_client() -> None:
    users = sorted(
        p.relative_to(ROOT).as_posix() for p in py_files("flows") if "httpx" in top(imports_of(p))
    )
    # the client itself, the replay transport, and the demo's fake upstreams (a MockTransport)
    users = [u for u in users if not u.startswith("flows/demo/fakes/")]
    assert users == ["flows/demo/generate.py", "flows/http.py", "flows/recording.py"]


def test_one_slug_per_source_everywhere() -> None:
    from flows.sources import SOURCES, raw_table
    from flows.watchlist import SOURCE_SLUGS

    assert tuple(SOURCES) == SOURCE_SLUGS
    shared = ROOT.parent / "shared" / "source-fixtures"
    without_payloads = []
    for slug, source in SOURCES.items():
        assert (ROOT / "flows" / "sources" / f"{slug}.py").is_file()
        assert (ROOT / "transforms" / "sources" / f"{slug}.py").is_file()  # its SPEC
        assert (ROOT / "tests" / f"test_{slug}.py").is_file()
        # genuine upstream payloads (../shared, or the real corpus in the project), else the
        # project's own fixtures
        if not (
            (shared / slug).is_dir()
            or (ROOT / "tests" / "fixtures" / slug).is_dir()
            or (ROOT / "tests" / "fixtures" / "real" / slug).is_dir()
        ):
            without_payloads.append(slug)
        for entity in source.entities:
            assert raw_table(slug, entity) == f"raw_{slug}__{entity}"
    if (
        without_payloads
        and not shared.is_dir()
        and not os.environ.get("SCHOLARFLOW_REQUIRE_SHARED")
    ):
        pytest.skip(f"{without_payloads}: payloads only in {shared}, absent here")
    assert without_payloads == []


def _project_imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Project modules `path` imports anywhere, inside functions too (a lazy import hides a
    cycle, it does not remove it); `from pkg import mod` counts as importing pkg.mod."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.update([full] if full in modules else [base] if base in modules else [])
    return found - {name}


def test_the_import_graph_has_no_cycle() -> None:
    paths = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in py_files("flows") + py_files("transforms")
    }
    graph = {name: _project_imports(p, name, set(paths)) for name, p in paths.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_sql_files_follow_the_conventions() -> None:
    for path in sorted((ROOT / "sql").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        assert path.stem == path.stem.lower(), path
        assert text.splitlines()[0].startswith("-- grain: "), (
            f"{path.name}: first line must state the grain"
        )
        assert text.rstrip().endswith("select * from final"), (
            f"{path.name}: must end with select * from final"
        )
        body = text.split("final as (", 1)[1]
        assert not re.search(r"select\s+(\w+\.)?\*", body.rsplit("select * from final", 1)[0]), (
            f"{path.name}: the final CTE must list its columns explicitly"
        )
