"""What the command line writes to a terminal: safe text, verbosity, progress.

Text from upstream (titles, names, error bodies) can hold NUL, control characters and ANSI
escape sequences; printed raw they rewrite the user's terminal. Every line the CLI prints goes
through `safe`: secrets masked, control characters shown as escapes.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

from flows.http import mask_secrets

# C0 and C1 controls (ESC, CSI, NUL, BEL, backspace, carriage return ...) and the
# bidirectional overrides that make text display in another order than it reads.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control characters and escape sequences shown as \\xNN (newlines and tabs
    kept), so nothing in it acts on the terminal."""
    return _UNSAFE.sub(_escape, text)


def printable_json(text: str) -> str:
    """JSON text with the characters json.dumps leaves raw under ensure_ascii=False (C1
    controls, bidi overrides) written as \\uNNNN escapes: still the same JSON value."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def safe(text: object) -> str:
    """A message for the terminal: secrets masked, control characters escaped."""
    return printable(mask_secrets(str(text)))


def echo(text: object = "", file: IO[str] | None = None) -> None:
    print(safe(text), file=file or sys.stdout)


# ------------------------------------------------------------------- logging

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2


class _Formatter(logging.Formatter):
    """One line per record, masked and escaped; the traceback only from -v on."""

    def __init__(self, verbosity: int) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
        self.verbosity = verbosity

    def format(self, record: logging.LogRecord) -> str:
        if self.verbosity < VERBOSE and (record.exc_info or record.stack_info):
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info = record.exc_text = record.stack_info = None
        return safe(super().format(record))


class _Verbosity(logging.Filter):
    """Which records reach the terminal: -q errors only; default the project's progress and
    warnings; -v each request; -vv third-party DEBUG too."""

    def __init__(self, verbosity: int, live: bool = False) -> None:
        super().__init__()
        self.verbosity = verbosity
        self.live = live  # the progress display shows sources starting and finishing

    def filter(self, record: logging.LogRecord) -> bool:
        v, level, name = self.verbosity, record.levelno, record.name
        if v <= QUIET:
            return level >= logging.ERROR
        ours = name == "scholarflow" or name.startswith("scholarflow.")
        if not ours:
            if v >= DEBUG:
                return True
            if v < VERBOSE and name.startswith("prefect") and _is_state_echo(record):
                return False  # "Finished in state Failed(...)" repeats the failure's own line
            return level >= logging.WARNING
        if v >= VERBOSE:
            return True
        event = getattr(record, "sf_event", None)
        if self.live and event in ("source_start", "source_done"):
            return False
        return level >= logging.INFO and event != "request"


def _is_state_echo(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR and str(record.msg).startswith("Finished in state")


@dataclass
class _SourceProgress:
    requests: int = 0
    records: int | None = None


class Progress:
    """Per-source requests and records while a run fetches: a live display on a terminal;
    elsewhere the plain `[source] …` log lines do the job."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, highlight=False, markup=False, soft_wrap=True)
        self._sources: dict[str, _SourceProgress] = {}
        self._lock = threading.Lock()
        self._live = Live(
            self._render(), console=self.console, refresh_per_second=4, transient=True
        )

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for name in ("source", "requests", "records"):
            table.add_column(name, justify="left" if name == "source" else "right")
        with self._lock:
            for source, p in self._sources.items():
                records = "…" if p.records is None else str(p.records)
                table.add_row(source, f"{p.requests} req", f"{records} rec")
        return table

    def event(self, record: logging.LogRecord) -> None:
        kind, source = getattr(record, "sf_event", None), getattr(record, "sf_source", None)
        if kind is None or source is None:
            return
        with self._lock:
            p = self._sources.setdefault(str(source), _SourceProgress())
            if kind == "request":
                p.requests += 1
            elif kind == "source_done":
                p.records = int(getattr(record, "sf_records", 0))
        self._live.update(self._render())

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()


class TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, or through the live progress display when one is shown (lines print above).

    Public name on purpose: Prefect's logging set-up keeps the root handlers a user installed,
    but replaces those whose class name starts with "_"."""

    def __init__(self, stream: IO[str], progress: Progress | None) -> None:
        super().__init__(stream)
        self.progress = progress

    def handle(self, record: logging.LogRecord) -> bool:
        if self.progress is not None:
            self.progress.event(record)  # counted even when the line itself is not shown
        return bool(super().handle(record))

    def emit(self, record: logging.LogRecord) -> None:
        if self.progress is None:
            super().emit(record)
            return
        try:
            self.progress.console.print(self.format(record))
        except Exception:  # never let output break a run
            self.handleError(record)


_installed: list[TerminalHandler] = []


def setup_logging(verbosity: int, progress: bool = False) -> Progress | None:
    """Our one stderr handler on the root logger (replacing an earlier one), and the levels
    that let the records through that `verbosity` shows. Returns the live progress display
    when `progress` is asked for and stderr is a terminal."""
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
    _installed.clear()
    shown = None
    if progress and verbosity > QUIET and sys.stderr.isatty():
        shown = Progress(sys.stderr)
    handler = TerminalHandler(sys.stderr, shown)
    handler.setFormatter(_Formatter(verbosity))
    handler.addFilter(_Verbosity(verbosity, live=shown is not None))
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(logging.DEBUG if verbosity >= DEBUG else logging.WARNING)
    logging.getLogger("scholarflow").setLevel(logging.DEBUG)
    for noisy in ("httpx", "httpcore"):  # request URLs at INFO: our own redacted line instead
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= DEBUG else logging.WARNING)
    return shown
