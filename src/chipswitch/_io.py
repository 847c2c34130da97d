"""File input and output at the library's edge.

Reading: `read_text` turns every way a file can fail to be text (missing, a directory, not
readable, not UTF-8) into a `CatalogFileError` naming the file, so no caller ever shows a
`UnicodeDecodeError`. Writing: `atomic_write` goes through a temporary file in the same folder
and `os.replace`, so a reader (or an interrupted run) sees either the previous file or the
complete new one, never a partial; a path that cannot be written (a directory, a missing or
read-only folder) is a `ChipswitchError` naming it. `check_writable` says so up front, before
a long computation whose result would have nowhere to go.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from chipswitch.errors import CatalogFileError, ChipswitchError


def read_text(path: Path) -> str:
    """The UTF-8 text of `path` (a leading byte-order mark removed)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogFileError(str(path), [exc.strerror or str(exc)]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogFileError(
            str(path),
            [
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "is it a binary file, or saved in another encoding?"
            ],
        ) from None
    return text.removeprefix("\ufeff")


def check_writable(path: Path, *, make_parents: bool = False) -> Path:
    """Raise ChipswitchError unless a file can be written at `path`. With `make_parents` a
    missing folder is created here (the write would create it anyway); no file is created."""
    path = Path(path)
    if path.is_dir():
        raise ChipswitchError(f"cannot write {path}: it is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if make_parents:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChipswitchError(
                f"cannot write {path}: cannot create {folder} ({exc.strerror or exc})"
            ) from None
    if not folder.is_dir():
        why = "is not a directory" if folder.exists() else "does not exist"
        raise ChipswitchError(f"cannot write {path}: the folder {folder} {why}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ChipswitchError(f"cannot write {path}: the folder {folder} is not writable")
    return path


def atomic_write(path: Path, write: Callable[[str], None], *, make_parents: bool = False) -> Path:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it over `path`.

    The file gets the permissions a plain `open(path, "w")` would (0o666 less the umask). On any
    error the temporary file is removed and nothing at `path` changes. With `make_parents`, a
    missing folder is created; otherwise it is an error. Any OS error (a directory at `path`, a
    read-only folder, a full disk) is raised as ChipswitchError naming `path`.
    """
    path = check_writable(Path(path), make_parents=make_parents)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ChipswitchError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ChipswitchError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str, *, make_parents: bool = False) -> Path:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(path, write, make_parents=make_parents)
