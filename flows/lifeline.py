"""Ties a child process to this one: `python -m flows.lifeline PID` waits until its stdin, a
pipe held open only by the process that started it, reaches end of file (that process exited,
however it died: return, signal, kill -9), then ends PID (SIGTERM, then SIGKILL).

`scholarflow run` uses it for Prefect's temporary server, which Prefect ends only from an
`atexit` hook: a run killed by a signal left the server running and holding the caller's
stdout/stderr. Plain stdlib and POSIX signals; no Linux-only prctl."""

from __future__ import annotations

import os
import signal
import sys
import time


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else: not ours to end
        return False
    return True


def main(argv: list[str]) -> int:
    pid = int(argv[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the run itself
    while sys.stdin.buffer.read(4096):  # nothing is ever written; returns b"" at EOF
        pass
    if not _alive(pid):
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _alive(pid):
            return 0
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
