"""docs/web.md's request/answer examples are what the server answers today.

`scripts/web_examples.py` writes them from the API; this test renders them again and compares,
so a change to the engine, the catalog or the API that moves a documented figure fails here
until the docs are regenerated (`python scripts/web_examples.py`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "web_examples", ROOT / "scripts" / "web_examples.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_docs_web_examples_are_current() -> None:
    mod = _script()
    text = mod.DOC.read_text(encoding="utf-8")
    rendered = mod.answers(mod.in_process)
    assert set(rendered) == set(mod.EXAMPLES)
    for name in mod.EXAMPLES:
        assert f"<!-- example {name} -->" in text, f"docs/web.md lost the '{name}' example"
    assert mod.updated(text, rendered) == text, (
        "docs/web.md examples are stale: run python scripts/web_examples.py"
    )


def test_abridging_keeps_named_keys_and_cuts_long_lists() -> None:
    mod = _script()
    ex = mod.Example("GET", "/x", keep={"a": ("k",)}, items=1)
    got = mod.abridge({"a": {"k": 1, "j": 2}, "b": [1, 2, 3], "seconds": 0.1}, ex)
    assert got == {"a": {"k": 1, "...": "..."}, "b": [1, "..."]}
    assert mod.round_numbers({"x": [1234.5678, 3]}) == {"x": [1235.0, 3]}
    assert mod.request_body({"tokens": 15e12}) == '{"tokens": 1.5e+13}'
