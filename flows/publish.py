"""Publishing: the run lock, the private writer copy, and atomic swaps of what users read.

Users open `warehouse/scholarflow.duckdb` (the published file) with any client, read-only or
read-write. A run never opens it: it writes into a private copy that no user opens
(`warehouse/.scholarflow.duckdb.writer/scholarflow.duckdb`), then copies that copy into a
temporary file beside the published one and renames it over it (`os.replace`, atomic on POSIX).
Clients that hold the old file keep reading their complete snapshot (the old inode); new
connections open the new file. Nothing here imports DuckDB: connections live in
`flows.warehouse`, which calls these file operations around them.

Reports are published the same way as a set: each run's CSVs go into `reports/runs/<run_id>/`
(written under a hidden name, renamed when complete), and `reports/current` is a symlink swapped
atomically to the new run; `reports/<view>.csv` are stable symlinks into `current/`.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

log = logging.getLogger("scholarflow")

Identity = tuple[int, int, int]  # inode, size, mtime (ns): changes whenever a file is rewritten


class WarehouseBusy(RuntimeError):
    """Another writer holds the warehouse."""


# ---------------------------------------------------------------- run lock

_locks: dict[Path, filelock.FileLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> filelock.FileLock:
    key = path.resolve()
    with _locks_guard:
        if key not in _locks:
            # thread_local=False: a run's tasks run in other threads and take the lock again
            _locks[key] = filelock.FileLock(key.with_name(key.name + ".lock"), thread_local=False)
        return _locks[key]


@contextlib.contextmanager
def exclusive(path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """The run lock: one scholarflow run per warehouse, held from the first request to the last
    write, so two runs neither write at once nor double the load on the sources. Re-entrant
    within a process (a run's tasks take it again around their write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_for(path)
    try:
        lock.acquire(timeout=max(wait_seconds, 0.0), poll_interval=0.2)
    except filelock.Timeout:
        try:
            holder = Path(lock.lock_file).read_text(encoding="utf-8").strip()
        except OSError:
            holder = ""
        raise WarehouseBusy(
            f"warehouse {path} is being written by another scholarflow run "
            f"({holder or 'unknown process'}); wait for it to finish or pass --wait SECONDS"
        ) from None
    try:
        if lock.lock_counter == 1:  # first acquisition: say who holds it (read by the refused)
            with open(lock.lock_file, "r+", encoding="utf-8") as fh:
                fh.truncate()
                fh.write(f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------- warehouse file


@dataclass(frozen=True)
class Layout:
    """Where the published warehouse, its private writer copy and the publish state live."""

    published: Path

    @property
    def private_dir(self) -> Path:
        return self.published.with_name(f".{self.published.name}.writer")

    @property
    def private(self) -> Path:
        return self.private_dir / self.published.name

    @property
    def state(self) -> Path:
        return self.private_dir / "published.json"

    @property
    def half_run(self) -> Path:
        """Present while a run has committed its load but not yet its build: the private copy
        then holds half a run, which is never published nor read as the warehouse."""
        return self.private_dir / "half-run"

    @property
    def incoming(self) -> Path:
        # beside the published file: os.replace is atomic only within one file system
        return self.published.with_name(f".{self.published.name}.incoming")

    def wal(self, path: Path) -> Path:
        return path.with_name(path.name + ".wal")


def identity(path: Path) -> Identity | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class State:
    """What the last publish wrote: the published file's identity (and the one before it, in
    case the process died between writing this and the rename) and the private copy's."""

    published: Identity | None = None
    previous: Identity | None = None
    private: Identity | None = None
    run_id: str | None = None

    @classmethod
    def read(cls, layout: Layout) -> State | None:
        try:
            raw = json.loads(layout.state.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return State()  # unreadable: treat the published file as possibly changed

        def ident(v: object) -> Identity | None:
            return (
                (int(v[0]), int(v[1]), int(v[2])) if isinstance(v, list) and len(v) == 3 else None
            )

        return cls(
            ident(raw.get("published")),
            ident(raw.get("previous")),
            ident(raw.get("private")),
            raw.get("run_id"),
        )

    def write(self, layout: Layout) -> None:
        _write_atomic(
            layout.state,
            json.dumps(
                {
                    "published": self.published,
                    "previous": self.previous,
                    "private": self.private,
                    "run_id": self.run_id,
                }
            ),
        )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_durably(src: Path, dst: Path) -> None:
    """Copy a file and fsync it, so a rename of `dst` never exposes an incomplete file."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 8 * 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())


def changed_outside(layout: Layout, state: State | None) -> bool:
    """Whether something other than a scholarflow publish wrote to the published file since
    (a client that opened it read-write and changed it, a restored backup, a pending .wal)."""
    if not layout.published.exists():
        return False
    if layout.wal(layout.published).exists():
        return True
    if state is None:
        return True
    now = identity(layout.published)
    return now not in {state.published, state.previous} - {None}


def private_changed(layout: Layout, state: State | None) -> bool:
    """The private copy holds commits not published yet (or was never published)."""
    return state is None or identity(layout.private) != state.private


def kept_name(published: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return published.with_name(f"{published.stem}.replaced-{stamp}{published.suffix}")


def publish_file(layout: Layout, run_id: str | None, keep_aside: str | None = None) -> Path | None:
    """Copy the private copy (checkpointed and closed by the caller) over the published file,
    atomically. With `keep_aside` (why), the file being replaced is kept under a new name
    first (a hard link: no copy), with its pending .wal, and a warning says where."""
    try:
        copy_durably(layout.private, layout.incoming)
    except BaseException:
        layout.incoming.unlink(missing_ok=True)  # e.g. disk full: leave no half copy behind
        raise
    new = State(
        published=identity(layout.incoming),  # a rename keeps inode, size and mtime
        previous=identity(layout.published),
        private=identity(layout.private),
        run_id=run_id,
    )
    kept: Path | None = None
    if keep_aside and layout.published.exists():
        kept = kept_name(layout.published)
        os.link(layout.published, kept)
        wal = layout.wal(layout.published)
        if wal.exists():
            # A client still writing holds the .wal open: it follows the rename, and its
            # changes land in the kept file instead of being replayed onto the new one.
            os.replace(wal, layout.wal(kept))
        log.warning(
            "%s %s; the replaced file is kept as %s. Keep your own tables and views in a "
            "separate DuckDB file that ATTACHes the warehouse read-only (README, Querying).",
            layout.published,
            keep_aside,
            kept,
        )
    new.write(layout)  # before the rename: both identities are accepted as ours
    os.replace(layout.incoming, layout.published)
    _fsync_dir(layout.published.parent)
    return kept


def reset_private(layout: Layout) -> None:
    # the database first, the half-run marker with the folder last: dying in between leaves
    # a marker without a database, never a half run without its marker
    for path in (layout.private, layout.wal(layout.private)):
        path.unlink(missing_ok=True)
    shutil.rmtree(layout.private_dir, ignore_errors=True)


def restore_private(layout: Layout) -> bool:
    """Undo a half run: the private copy back to the published file's bytes, when these are
    still the ones the last publish wrote (then the private copy held exactly them before the
    run), without opening the published file (a client may hold it open for writing). Whether
    it was restored; the half-run marker goes only once it is."""
    state = State.read(layout)
    if (
        state is None
        or state.published is None
        or identity(layout.published) != state.published
        or layout.wal(layout.published).exists()
    ):
        return False
    tmp = layout.private.with_name(layout.private.name + ".restore")
    try:
        copy_durably(layout.published, tmp)
        layout.wal(layout.private).unlink(missing_ok=True)
        os.replace(tmp, layout.private)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(layout.private_dir)
    replace_state = State(state.published, state.previous, identity(layout.private), state.run_id)
    replace_state.write(layout)
    clear_half_run(layout)
    return True


def mark_half_run(layout: Layout, run_id: str | None) -> None:
    _write_atomic(layout.half_run, run_id or "")


def clear_half_run(layout: Layout) -> None:
    layout.half_run.unlink(missing_ok=True)
    _fsync_dir(layout.private_dir)


def restorable(layout: Layout) -> bool:
    """The published file holds exactly what the private copy holds (the last publish wrote
    it and nothing changed either since), so a run may commit in steps and, should it fail,
    go back to it."""
    state = State.read(layout)
    return (
        state is not None
        and state.private is not None
        and layout.published.exists()
        and not layout.wal(layout.published).exists()
        and not layout.wal(layout.private).exists()
        and identity(layout.published) == state.published
        and identity(layout.private) == state.private
    )


# ---------------------------------------------------------------- report sets

CURRENT = "current"


def runs_dir(reports: Path) -> Path:
    return reports / "runs"


def stage_reports(reports: Path, run_id: str) -> Path:
    """A fresh, hidden directory for this run's report files (hidden until complete)."""
    staged = runs_dir(reports) / f".{run_id}.partial"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    return staged


def current_run_dir(reports: Path) -> Path | None:
    link = reports / CURRENT
    if not link.is_symlink():
        return None
    target = (reports / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def seal_reports(reports: Path, run_id: str, staged: Path) -> Path:
    """Mark a staged set complete by renaming it to runs/<run_id>/. A file whose bytes equal
    the current run's (at the same place, folders such as charts/ included) is replaced by a
    hard link to it (no second copy on disk)."""
    previous = current_run_dir(reports)
    files = sorted(p for p in staged.rglob("*") if p.is_file())
    for path in files:
        old = previous / path.relative_to(staged) if previous else None
        if old is not None and old.is_file() and filecmp.cmp(path, old, shallow=False):
            link = path.with_name(f".{path.name}.link")
            try:
                os.link(old, link)
            except OSError:  # no hard links here (some shared drives): keep the copy
                continue
            os.replace(link, path)
    for path in files:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    for folder in sorted({p.parent for p in files}, reverse=True):
        _fsync_dir(folder)
    final = runs_dir(reports) / run_id
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staged, final)
    _fsync_dir(final.parent)
    return final


def switch_reports(reports: Path, run_id: str, keep_runs: int) -> list[Path]:
    """Point reports/current at runs/<run_id>/ in one rename, keep reports/<view>.csv as links
    into current/, and prune run sets beyond the newest `keep_runs`. Returns the view paths."""
    target = runs_dir(reports) / run_id
    link = reports / CURRENT
    tmp = reports / f".{CURRENT}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(Path("runs") / run_id, tmp, target_is_directory=True)
    os.replace(tmp, link)
    _fsync_dir(reports)
    # every entry of the set: <view>.csv, digest.md, index.html, and the charts/ and exports/
    # folders, each as a stable link into current/
    names = sorted(p.name for p in target.iterdir() if not p.name.startswith("."))
    paths = []
    for name in names:
        view = reports / name
        want = Path(CURRENT) / name
        if not (view.is_symlink() and Path(os.readlink(view)) == want):
            # replaces the regular files of earlier versions in one rename too
            vtmp = reports / f".{name}.tmp"
            vtmp.unlink(missing_ok=True)
            if view.is_dir() and not view.is_symlink():  # a folder an earlier version wrote
                shutil.rmtree(view)
            os.symlink(want, vtmp, target_is_directory=(target / name).is_dir())
            os.replace(vtmp, view)
        if (target / name).is_file():
            paths.append(view)
    for view in reports.iterdir():
        if view.is_symlink() and view.name != CURRENT and not view.exists():  # gone from the set
            view.unlink()
    prune_runs(reports, keep_runs, keep={run_id})
    return paths


def prune_runs(reports: Path, keep_runs: int, keep: set[str]) -> list[str]:
    """Remove run sets beyond the newest `keep_runs` (run ids sort by time) and leftovers of
    runs that died while writing theirs."""
    root = runs_dir(reports)
    if not root.is_dir():
        return []
    removed = []
    for d in root.iterdir():
        if d.name.startswith(".") and d.name.endswith(".partial") and d.name[1:-8] not in keep:
            shutil.rmtree(d, ignore_errors=True)
    done = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    for name in done[: max(len(done) - keep_runs, 0)]:
        if name not in keep:
            shutil.rmtree(root / name, ignore_errors=True)
            removed.append(name)
    return removed
