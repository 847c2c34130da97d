"""Regenerate the request/answer examples in docs/web.md from the API itself.

    python scripts/web_examples.py          # rewrite docs/web.md in place
    python scripts/web_examples.py --check  # exit 1 if docs/web.md is stale

Each example sits between `<!-- example NAME -->` and `<!-- /example -->` in docs/web.md.
The script sends each request to the app in-process (FastAPI's test client), writes the curl
command that sends it to a running `chipswitch serve` and the answer, abridged: long lists
keep their first items, the bulkiest mappings their first keys, and numbers are rounded to
four significant figures. `tests/test_web_docs.py` runs `--check`'s comparison, so the examples
cannot drift from what the server answers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "web.md"
ELLIPSIS = "..."
DIGITS = 4
WIDTH = 96
#: Answer keys that change from run to run (the search's own wall time), left out.
VOLATILE = frozenset({"seconds"})


@dataclass(frozen=True)
class Example:
    """One documented request: what is sent and how much of the answer is shown."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    #: key path (dot-separated; "*" for every list item) -> keys to keep (others become "...")
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: lists longer than this keep their first `items` entries
    items: int = 2
    note: str = ""


EXAMPLES: dict[str, Example] = {
    "plan": Example(
        "POST",
        "/api/plan",
        {
            "model": "llama3.1-70b",
            "hardware": "h100-sxm",
            "chips": 1024,
            "global_batch": 512,
            "seq": 8192,
            "tokens": 15e12,
            "price": "aws-p5",
        },
        keep={
            "best.memory_bytes": ("mem_weights", "mem_activations", "total"),
            "best.time_s": ("compute_matmul", "compute_attention", "step_time"),
            "training": (
                "tokens",
                "seconds",
                "days",
                "seconds_interval",
                "cost_usd",
                "cost_usd_interval",
                "price",
                "energy_kwh",
                "goodput",
                "all_in",
            ),
            "training.price": ("type", "usd_per_chip_hour", "date"),
            "training.goodput": ("goodput", "goodput_interval", "interruptions"),
            "training.all_in": ("days", "cost_usd", "cost_usd_interval"),
            "top.*": ("description", "step_time_s", "tokens_per_s_per_chip"),
        },
    ),
    "compare": Example(
        "POST",
        "/api/compare",
        {
            "model": "llama3.1-70b",
            "chips": 1024,
            "global_batch": 512,
            "seq": 8192,
            "tokens": 15e12,
            "hardware": ["h100-sxm", "trn2", "tpu7x"],
        },
        keep={
            "rows.*": (
                "hardware",
                "vendor",
                "feasible",
                "offering",
                "plan",
                "tokens_per_s_per_chip",
                "days",
                "days_interval",
                "cost_usd",
                "cost_usd_interval",
            ),
        },
        items=3,
    ),
    "decide": Example(
        "POST",
        "/api/decide",
        {"scenario": "amazon-anthropic-2024", "samples": 2000, "seed": 1},
        keep={
            "": ("scenario", "run", "objective", "verdict", "options"),
            "run": ("samples", "seed"),
            "verdict": ("option", "probability", "runner_up", "sentence"),
            "options.*": ("id", "p_best", "expected_objective", "p_cash_out"),
        },
        items=4,
    ),
    "error": Example(
        "POST",
        "/api/plan",
        {
            "model": "llama3.1-70b",
            "hardware": "h100-sxm6",
            "chips": 1024,
            "global_batch": 512,
            "seq": 8192,
        },
    ),
}


def round_numbers(x: Any) -> Any:
    """Floats to DIGITS significant figures (integers and other values unchanged)."""
    if isinstance(x, float):
        return float(f"{x:.{DIGITS}g}")
    if isinstance(x, list):
        return [round_numbers(v) for v in x]
    if isinstance(x, dict):
        return {k: round_numbers(v) for k, v in x.items()}
    return x


def abridge(x: Any, ex: Example, path: str = "") -> Any:
    """Keep the keys `ex.keep` names at each path and the first `ex.items` of long lists."""
    if isinstance(x, dict):
        kept = ex.keep.get(path)
        out = {
            k: abridge(v, ex, f"{path}.{k}".lstrip("."))
            for k, v in x.items()
            if (kept is None or k in kept) and not (path == "" and k in VOLATILE)
        }
        if kept is not None and len(out) < len(x):
            out[ELLIPSIS] = ELLIPSIS
        return out
    if isinstance(x, list):
        star = f"{path}.*".lstrip(".")
        head = [abridge(v, ex, star) for v in x[: ex.items]]
        return head + ([ELLIPSIS] if len(x) > ex.items else [])
    return x


def dumps(x: Any, indent: int = 0) -> str:
    """JSON with a container on one line when it fits in WIDTH columns, else one item a line."""
    flat = json.dumps(x, ensure_ascii=False)
    if not isinstance(x, (dict, list)) or indent + len(flat) <= WIDTH or not x:
        return flat
    pad = " " * (indent + 2)
    values = list(x.values()) if isinstance(x, dict) else x
    if isinstance(x, dict):
        items = [f"{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in x.items()]
    else:
        items = [dumps(v, indent + 2) for v in x]
    open_, close = ("{", "}") if isinstance(x, dict) else ("[", "]")
    if all(not isinstance(v, (dict, list)) for v in values):
        items = _pack(items, WIDTH - len(pad))  # scalars share lines
    body = ",\n".join(pad + item for item in items)
    return f"{open_}\n{body}\n{' ' * indent}{close}"


def _pack(items: list[str], width: int) -> list[str]:
    """Join short items into lines of at most `width` characters."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return lines


def request_body(body: dict[str, Any]) -> str:
    """The body as typed on a command line: 15e12, not 15000000000000.0."""
    text = dumps({k: f"@{v:g}@" if isinstance(v, float) else v for k, v in body.items()}, 5)
    return re.sub(r'"@([^@]*)@"', r"\1", text)


def curl(ex: Example) -> str:
    return (
        f"curl -s localhost:8000{ex.path} -H 'content-type: application/json' \\\n"
        f"     -d '{request_body(ex.body or {})}'"
    )


def render(name: str, ex: Example, answer: Any, status: int) -> str:
    shown = dumps(round_numbers(abridge(answer, ex)))
    head = f"<!-- example {name} -->"
    status_note = "" if status == 200 else f"\n\nanswers {status}:"
    return (
        f"{head}\n```sh\n{curl(ex)}\n```{status_note}\n\n```json\n{shown}\n```\n<!-- /example -->"
    )


def answers(send: Callable[[Example], tuple[int, Any]]) -> dict[str, str]:
    """Each example rendered with the answer `send` gets for it."""
    out = {}
    for name, ex in EXAMPLES.items():
        status, body = send(ex)
        out[name] = render(name, ex, body, status)
    return out


def in_process(ex: Example) -> tuple[int, Any]:
    """Send `ex` to a fresh in-process app (the shipped catalog)."""
    from fastapi.testclient import TestClient

    from chipswitch.web import create_app

    with TestClient(create_app(), base_url="http://localhost") as client:
        resp = client.request(ex.method, ex.path, json=ex.body)
        return resp.status_code, resp.json()


def updated(text: str, rendered: dict[str, str]) -> str:
    """`text` with every example block replaced by its rendering; unknown names are errors."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in rendered:
            raise SystemExit(f"docs/web.md names an unknown example '{name}'")
        return rendered[name]

    return re.sub(r"<!-- example (\S+) -->.*?<!-- /example -->", sub, text, flags=re.S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/web.md is stale")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    new = updated(text, answers(in_process))
    if args.check:
        if new != text:
            print("docs/web.md is stale: run python scripts/web_examples.py", file=sys.stderr)
            sys.exit(1)
        return
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
