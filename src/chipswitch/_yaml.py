"""Safe YAML loading into pydantic models, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chipswitch.errors import CatalogFileError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    """Parse `path` with yaml.safe_load; syntax errors name the file, line and column."""
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogFileError(str(path), [f"{where}invalid YAML ({problem})"]) from None
    except ValueError as exc:  # e.g. a timestamp that does not exist (2024-13-45)
        raise CatalogFileError(str(path), [f"invalid YAML value ({exc})"]) from None
    except OSError as exc:
        raise CatalogFileError(str(path), [exc.strerror or str(exc)]) from None


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem: dotted field path and what is wrong."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
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
    except ValidationError as exc:
        raise CatalogFileError(str(path), format_validation_error(exc)) from None
