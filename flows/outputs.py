"""Everything a run publishes for people to read, beside the CSV reports: the run digest
(digest.md), the HTML report with its charts (index.html, charts/) and the exports
(exports/: co-authorship network, publication lists).

`write_outputs` writes into the directory it is given; where that directory sits (and how it
is swapped into place) is the caller's business. Given the previous report set, it takes a
chart or export file from there instead of drawing it again when everything its renderer reads
is unchanged (`flows.renders`): a run costs what changed, and the files stay byte for byte what a
fresh render writes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from flows.renders import MANIFEST, Renders

log = logging.getLogger("scholarflow")


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are for others to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _prune(directory: Path, keep: set[str]) -> None:
    """Files a previous run wrote that this one did not (a researcher left the watchlist)."""
    if directory.is_dir():
        for old in directory.iterdir():
            if old.is_file() and old.name not in keep:
                old.unlink()


def write_outputs(con: Any, out_dir: Path, run_id: str, previous: Path | None = None) -> list[Path]:
    """digest.md, index.html, charts/ and exports/ for run `run_id`, into `out_dir`. Charts and
    exports whose inputs are unchanged since the report set `previous` are taken from it."""
    # imported here: flows.steps imports this module, and every CLI command that loads it
    # (status, explain, --help) would otherwise pay for the renderers' imports; matplotlib,
    # networkx and the bibliography libraries load only when something is drawn
    from flows import digest, exports, html_report

    renders = Renders(previous)
    written = [write_atomic(out_dir / "digest.md", digest.render_digest(con, run_id))]
    pairs = exports.pair_rows(con)
    page, charts = html_report.render_report(con, run_id, renders, pairs)
    chart_files = html_report.chart_files(charts)
    for name, data in chart_files.items():
        written.append(write_atomic(out_dir / "charts" / name, data))
    _prune(out_dir / "charts", set(chart_files))
    written.append(write_atomic(out_dir / "index.html", page))
    export_files = exports.render_exports(con, renders, pairs)
    for name, text in export_files.items():
        written.append(write_atomic(out_dir / "exports" / name, text))
    _prune(out_dir / "exports", set(export_files))
    written.append(write_atomic(out_dir / MANIFEST, renders.manifest()))
    log.info(
        "charts and exports: %d drawn, %d unchanged since the previous report set",
        len(renders.rendered),
        len(renders.reused),
    )
    return written
