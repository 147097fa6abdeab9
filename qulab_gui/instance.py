"""One QuLab per data dir.

Two instances may run side by side (each finds a free port), but not on the same data dir: both
would migrate and write the same SQLite file and rotate the same log file. The first instance
holds an OS file lock in the data dir for as long as it runs; the OS releases it when the
process ends, however it ends, so a crash never leaves a stale lock behind. A second instance
is refused with a message naming the first one's pid and URL.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO

LOCK_FILE = "qulab.lock"
INFO_FILE = "qulab.instance.json"  # separate: on Windows a locked byte range cannot be read


class AlreadyRunning(RuntimeError):
    """Another live QuLab holds this data dir."""


def claim(data_dir: Path, url: str) -> IO[bytes]:
    """Lock `data_dir` for this process; keep the returned handle open until exit."""
    handle = open(data_dir / LOCK_FILE, "a+b")  # noqa: SIM115  held for the process lifetime
    try:
        _lock(handle)
    except OSError:
        handle.close()
        raise AlreadyRunning(_refusal(data_dir)) from None
    (data_dir / INFO_FILE).write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    return handle


def _holder(data_dir: Path) -> dict[str, object] | None:
    """What the instance holding `data_dir` wrote about itself (pid and URL), if it is readable."""
    try:
        holder = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and {"pid", "url"} <= holder.keys() else None


def running_url(data_dir: Path) -> str | None:
    """The URL the instance holding `data_dir` serves at, if it said so."""
    holder = _holder(data_dir)
    return str(holder["url"]) if holder else None


def _refusal(data_dir: Path) -> str:
    holder = _holder(data_dir)
    who = f" (pid {holder['pid']}, {holder['url']})" if holder else ""
    return (f"QuLab is already running with the data dir {data_dir}{who}: use that window, close it first, "
            f"or give this one another --data-dir")


if sys.platform == "win32":
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # raises OSError when another process holds it
else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError (an OSError)
