"""Safe YAML loading into pydantic models, with errors that name the file and the field.

Every YAML file the library reads (catalog entries, scenarios, sweep files) comes through
`read_yaml`, so a binary file, an unreadable one or one nested past Python's recursion limit is
one `CatalogFileError`, never a `UnicodeDecodeError` or `RecursionError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chipswitch._io import read_text
from chipswitch.errors import CatalogFileError

M = TypeVar("M", bound=BaseModel)
#: libyaml's safe loader when PyYAML was built with it (much faster), else the Python one.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Deepest nesting of mappings and sequences accepted in any YAML document.
MAX_DEPTH = 64
TOO_DEEP = "nested too deeply to read (more levels than any chipswitch file has)"


def read_yaml(path: Path) -> Any:
    """Parse the file at `path`; every problem names the file (and line and column)."""
    return parse_yaml_text(read_text(path), str(path))


def parse_yaml_text(text: str | bytes, origin: str) -> Any:
    """Parse YAML text (a file's or a request body's) with the safe loader.

    Every problem raises CatalogFileError naming `origin`: text that is not UTF-8, a syntax
    error (with line and column) or a value YAML cannot build (a date like 2024-13-45).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CatalogFileError(origin, ["not UTF-8 text"]) from None
    try:
        _check_depth(text, origin)
        return yaml.load(text, Loader=_LOADER)
    except RecursionError:  # the pure-Python loader, where libyaml is missing
        raise CatalogFileError(origin, [TOO_DEEP]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogFileError(origin, [f"{where}invalid YAML ({problem})"]) from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp that does not exist
        raise CatalogFileError(origin, [f"invalid YAML value ({exc})"]) from None


def _check_depth(text: str, origin: str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH before building them: the loaders build
    nested nodes recursively, and libyaml's would overflow the C stack (a crash, not an
    error) on `[[[[...` thousands deep. Parsing events is iterative and cheap."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise CatalogFileError(origin, [f"{TOO_DEEP}: over {MAX_DEPTH} levels"])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem: dotted field path and what is wrong."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt?)"
        out.append(f"{loc}: {msg}")
    return out


def load_model(path: Path, model: type[M]) -> M:
    """Read `path` and validate it as `model`, raising CatalogFileError on any problem."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise CatalogFileError(str(path), ["expected a mapping at the top level"])
    try:
        return model.model_validate(data)
    except RecursionError:
        raise CatalogFileError(str(path), [TOO_DEEP]) from None
    except ValidationError as exc:
        raise CatalogFileError(str(path), format_validation_error(exc)) from None
