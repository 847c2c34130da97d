"""Atomic file writes: a temporary file in the same folder, then `os.replace`, so a reader (or
an interrupted run) sees either the previous file or the complete new one, never a partial."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[str], None], *, make_parents: bool = False) -> Path:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it over `path`.

    The file gets the permissions a plain `open(path, "w")` would (0o666 less the umask). On any
    error the temporary file is removed and nothing at `path` changes. With `make_parents`, a
    missing folder is created; otherwise it is an error (`FileNotFoundError`).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str, *, make_parents: bool = False) -> Path:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(path, write, make_parents=make_parents)
