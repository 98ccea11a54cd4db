"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: readers see the old file or the new one.

    A symlink stays a symlink: its target gets the data (renaming over the link itself would turn it
    into a plain file and leave the linked file stale), and a file written again keeps its permissions.
    A link's target folder must exist: one is never made wherever a dangling link points.
    """
    target = link_target(path)
    if target is path:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    _replace(target, data, mode)


def link_target(path: Path) -> Path:
    """The file that writing `path` should change: `path` itself, or the file its symlinks lead to."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _replace(path: Path, data: bytes, mode: int | None) -> None:
    # One writer per process and thread owns this name, so no random name (and no retries) is needed.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
