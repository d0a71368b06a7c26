"""What `pip install .` ships is what runs: the wheel, installed non-editable into a fresh
venv, runs the demo from a directory outside the checkout and builds views and reports."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT
from setuptools import find_packages


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    found = set(find_packages(str(ROOT), include=["flows*", "transforms*"]))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert "flows.sql" in listed


def test_a_missing_view_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import settings

    assert settings.sql_dir() == ROOT / "sql"  # a checkout uses the top-level sql/
    monkeypatch.setattr(settings, "SQL_DIR", tmp_path / "sql")
    with pytest.raises(settings.MissingViews, match=r"no SQL view files in .*incomplete"):
        settings.sql_dir()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of the sources (the checkout stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("flows", "transforms", "sql"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    # --no-build-isolation: setuptools from the dev install, so no index is needed
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (whl,) = dist.glob("scholarflow-*.whl")
    return whl


def test_the_wheel_holds_views_demo_recording_and_recipes(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    views = {p.name for p in (ROOT / "sql").glob("*.sql")}
    assert {f"flows/sql/{v}" for v in views} <= names
    assert "flows/demo/recording/manifest.jsonl" in names
    recorded = sum(n.startswith("flows/demo/recording/openalex/") for n in names)
    assert recorded == len(list((ROOT / "flows/demo/recording/openalex").iterdir()))
    assert {f"flows/recipes/{p.name}" for p in (ROOT / "flows/recipes").glob("*.toml")} <= names
    assert not any(n.startswith(("sql/", "tests/")) for n in names)


@pytest.mark.flow
def test_the_installed_wheel_runs_the_demo_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The dependencies come from this test's own environment (offline, seconds): a .pth line
    # appends its site-packages to the new venv's path. Lines of a .pth only add directories;
    # they do not run that directory's own .pth files, so the editable install of the
    # checkout stays invisible and `flows` can only come from the wheel.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    Path(purelib, "_scholarflow_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    user = tmp_path / "user"  # a user's directory: their watchlist, no checkout anywhere near
    user.mkdir()
    shutil.copy(ROOT / "watchlist.toml", user / "watchlist.toml")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PREFECT_API_URL"}},
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    where = subprocess.run(
        [str(python), "-c", "import flows.settings as s; print(s.__file__); print(s.SQL_DIR)"],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [f"{purelib}/flows/settings.py", f"{purelib}/flows/sql"]
    warehouse = tmp_path / "wh" / "s.duckdb"
    proc = subprocess.run(
        [str(venv / "bin" / "scholarflow"), "run", "--demo", "--warehouse", str(warehouse)],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        views = {
            r[0]
            for r in con.execute(
                "select view_name from duckdb_views() where schema_name = 'metrics'"
            ).fetchall()
        }
        assert views == {p.stem for p in (ROOT / "sql").glob("*.sql")}
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
    finally:
        con.close()
    reports = {p.name for p in (tmp_path / "wh" / "reports").glob("*.csv")}
    assert "citations_per_author.csv" in reports and len(reports) >= 3, reports
