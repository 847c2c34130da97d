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
TOO_DEEP = "nested too deeply to read (more levels than any chipswitch file has)"


def read_yaml(path: Path) -> Any:
    """Parse `path` with yaml.safe_load; syntax errors name the file, line and column."""
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise CatalogFileError(str(path), [TOO_DEEP]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogFileError(str(path), [f"{where}invalid YAML ({problem})"]) from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp like 2024-13-45
        raise CatalogFileError(str(path), [f"invalid YAML value ({exc})"]) from None


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
