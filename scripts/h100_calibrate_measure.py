"""Calibrate a device, measure real training steps on it, and write a measurement report.

Run by `scripts/h100_calibrate_measure.sh` (which installs the package first); usable alone:

    python scripts/h100_calibrate_measure.py --device cuda --out OUT
    python scripts/h100_calibrate_measure.py --device cpu --quick --out OUT     # CPU dry mode

Steps:
1. `chipswitch calibrate --device D [--quick] --out OUT/<device>-profile.json` (skipped with
   `--profile FILE`, which reuses a profile);
2. `chipswitch measure ... --calibration PROFILE --json` for each configuration (GPU: 1B- to
   8B-class shapes truncated to fit one 80 GB H100, several micro-batches, every recompute
   mode; CPU dry mode: small test shapes), each in its own process so that peak memory starts
   from zero; a configuration that fails (out of memory, say) is reported, not fatal;
3. for a device in the catalog, the engine's prediction with the family defaults as well
   (no profile), to show what calibration changes;
4. OUT/measure-report.json and OUT/measure-report.md: errors (predicted / measured - 1),
   the environment and the profile's efficiencies.

Exit status: 0 when every configuration ran, 1 otherwise (the report is written either way).

`--rescore OUT/measure-report.json --profile OUT/<device>-profile.json` recomputes the
engine's side of an existing report (after an engine or comparison change) without touching
the measured values, and rewrites the report next to it with a `rescored` note.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHAPES = REPO / "benchmarks" / "shapes"

#: (model, layers, micro_batch, seq, recompute) measured on a GPU. Sized for one 80 GB H100:
#: the 8B-class shapes are truncated so that weights, gradients and AdamW states (18 B per
#: parameter, embeddings and a 128k-vocabulary head included) plus activations fit.
GPU_CONFIGS: tuple[tuple[str, int | None, int, int, str], ...] = (
    ("llama3.2-1b", None, 4, 2048, "none"),
    ("llama3.2-1b", None, 4, 2048, "selective"),
    ("llama3.2-1b", None, 8, 2048, "full"),
    ("llama3.1-8b", 4, 1, 4096, "none"),
    ("llama3.1-8b", 4, 2, 4096, "selective"),
    ("llama3.1-8b", 6, 2, 4096, "full"),
    ("llama2-7b", 4, 4, 4096, "none"),
    ("llama2-7b", 8, 8, 2048, "full"),
)
#: The CPU dry mode: the same modes on test shapes that train in seconds.
CPU_CONFIGS: tuple[tuple[str, int | None, int, int, str], ...] = (
    ("tiny-llama-7m", None, 1, 256, "none"),
    ("tiny-llama-7m", None, 2, 256, "selective"),
    ("tiny-llama-7m", 2, 2, 128, "full"),
    ("tiny-gpt-5m", None, 1, 256, "none"),
    ("tiny-gpt-5m", None, 2, 128, "selective"),
    ("tiny-gpt-5m", None, 2, 256, "full"),
)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "chipswitch.cli.app", "--catalog", str(SHAPES), *args]


def _run(cmd: list[str], log: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n# exit {proc.returncode}, {time.perf_counter() - t0:.1f} s\n")
        fh.write(proc.stderr[-4000:])
        fh.write("\n")
    return proc


def calibrate(device: str, quick: bool, out: Path, log: Path, threads: int | None) -> Path:
    profile = out / f"{'h100' if device == 'cuda' else device}-profile.json"
    cmd = _cli("calibrate", "--device", device, "--out", str(profile))
    if quick:
        cmd.append("--quick")
    if threads:
        cmd += ["--threads", str(threads)]
    proc = _run(cmd, log, timeout=1800)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise SystemExit(f"calibrate failed (exit {proc.returncode}): {tail[0]}")
    print(proc.stdout, flush=True)
    return profile


def measure(
    cfg: tuple[str, int | None, int, int, str],
    device: str,
    profile: Path,
    steps: int,
    warmup: int,
    log: Path,
) -> dict[str, Any]:
    model, layers, mb, seq, rc = cfg
    args = ["measure", "--model", model, "--micro-batch", str(mb), "--seq", str(seq)]
    args += ["--recompute", rc, "--steps", str(steps), "--warmup", str(warmup)]
    args += ["--device", device, "--calibration", str(profile), "--json"]
    if layers:
        args += ["--layers", str(layers)]
    proc = _run(_cli(*args), log, timeout=900)
    label = f"{model}{f' x{layers}L' if layers else ''} mb{mb} seq{seq} {rc}"
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"label": label, "error": lines[-1] if lines else f"exit {proc.returncode}"}
    result: dict[str, Any] = json.loads(proc.stdout)
    result["label"] = label
    return result


def family_default_prediction(result: dict[str, Any]) -> dict[str, Any] | None:
    """The engine's prediction with the shipped family efficiencies (catalog devices only)."""
    hardware = result.get("hardware")
    if not hardware:
        return None
    from chipswitch.calibrate.agreement import MeasureConfig, predict, truncate
    from chipswitch.catalog import load_catalog

    cat = load_catalog([SHAPES])
    c = result["config"]
    shape = truncate(cat.model(c["base_model"]), c["layers"])
    cfg = MeasureConfig(shape, c["micro_batch"], c["seq"], c["recompute"])
    p = predict(cfg, cat.chip(hardware), None, result["measured"]["precision"], cat)
    m = result["measured"]
    return {
        "calibration": p.calibration,
        "step_time": p.step_time,
        "memory_bytes": p.memory_bytes,
        "step_time_error": p.step_time / m["step_time"] - 1.0,
    }


def rescore(report_path: Path, profile_path: Path) -> None:
    """Recompute predictions and errors of a stored report; measurements are kept as they are."""
    import datetime as dt

    from chipswitch.calibrate.agreement import MeasureConfig, Measured, compare, predict, truncate
    from chipswitch.calibrate.apply import calibrated_chip
    from chipswitch.calibrate.profile import CalibrationProfile
    from chipswitch.catalog import load_catalog
    from chipswitch.perf.efficiency import load_calibration

    old = json.loads(report_path.read_text(encoding="utf-8"))
    prof = CalibrationProfile.model_validate_json(profile_path.read_text(encoding="utf-8"))
    cat = load_catalog([SHAPES])
    chip, eff, _ = calibrated_chip(prof, cat, old["results"][0].get("hardware"), load_calibration())
    results = []
    for r in old["results"]:
        if "error" in r:
            results.append(r)
            continue
        c = r["config"]
        cfg = MeasureConfig(
            truncate(cat.model(c["base_model"]), c["layers"]),
            c["micro_batch"],
            c["seq"],
            c["recompute"],
            steps=c["steps"],
            warmup=c["warmup"],
        )
        m = r["measured"]
        measured = Measured(**{**m, "step_times": tuple(m["step_times"])})
        new = compare(cfg, measured, predict(cfg, chip, eff, measured.precision, cat)).as_dict()
        new["config"]["base_model"] = c["base_model"]
        new.update({k: r[k] for k in ("calibration_file", "hardware", "label") if k in r})
        new["family_defaults"] = family_default_prediction(new)
        results.append(new)
    rep = write_report(report_path.parent, profile_path, results)
    rep["rescored"] = {
        "date": dt.date.today().isoformat(),
        "note": "engine side recomputed by `h100_calibrate_measure.py --rescore`; "
        "measured values unchanged from the original run",
    }
    report_path.write_text(json.dumps(rep, indent=2) + "\n", "utf-8")
    md = report_path.with_suffix(".md")
    md.write_text(
        md.read_text(encoding="utf-8")
        + f"\nRescored on {rep['rescored']['date']}: {rep['rescored']['note']}.\n",
        encoding="utf-8",
    )


def _pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "—"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "median_abs": None, "max_abs": None, "mean_signed": None}
    return {
        "n": len(values),
        "median_abs": statistics.median(abs(v) for v in values),
        "max_abs": max(abs(v) for v in values),
        "mean_signed": statistics.fmean(values),
    }


def write_report(out: Path, profile_path: Path, results: list[dict[str, Any]]) -> dict[str, Any]:
    profile = json.loads(profile_path.read_text(encoding="utf-8"))
    from chipswitch.calibrate.apply import calibrated_chip
    from chipswitch.calibrate.profile import CalibrationProfile
    from chipswitch.catalog import load_catalog
    from chipswitch.perf.efficiency import load_calibration

    prof = CalibrationProfile.model_validate(profile)
    chip, eff, _ = calibrated_chip(prof, load_catalog([SHAPES]), None, load_calibration())
    ok = [r for r in results if "error" not in r]
    summary = {
        key: _summary([r["errors"][key] for r in ok if r["errors"].get(key) is not None])
        for key in ("step_time", "tokens_per_s", "memory")
    }
    defaults = [r["family_defaults"]["step_time_error"] for r in ok if r.get("family_defaults")]
    summary["step_time_family_defaults"] = _summary(defaults)
    report = {
        "environment": profile["environment"],
        "chip": {"id": chip.id, "name": chip.name, "peak_bf16": chip.peak("bf16")},
        "efficiencies": {
            k: getattr(eff, k)
            for k in ("matmul", "fp8_matmul", "attention", "memory", "kernel_overhead")
            + ("layer_overhead",) * (prof.environment.device == "cpu")
            + ("collective_up",) * bool(prof.collectives)
            if k != "fp8_matmul" or prof.matmul_points("fp8")
        },
        "profile_notes": profile.get("notes", []),
        "error_convention": "predicted / measured - 1",
        "summary": summary,
        "results": results,
    }
    (out / "measure-report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out / "measure-report.md").write_text(_markdown(report), encoding="utf-8")
    return report


def _markdown(rep: dict[str, Any]) -> str:
    env = rep["environment"]
    lines = [
        "# Measured training steps vs the engine",
        "",
        f"Device: **{env['device_name']}** ({env['device']}, {env['device_count']} device(s)); "
        f"torch {env['torch_version']}"
        + (f", CUDA {env['cuda_version']}" if env.get("cuda_version") else "")
        + (f", driver {env['driver_version']}" if env.get("driver_version") else "")
        + f"; CPU {env['cpu_model']} ({env['cpu_threads']} threads); {env['date']}.",
        f"Profile command: `{env['command']}`.",
        "",
        f"Engine chip: `{rep['chip']['id']}`; efficiencies from the profile: "
        + ", ".join(
            f"{k} {v * 1e6:.1f} µs" if k.endswith("overhead") else f"{k} {v:.3f}"
            for k, v in rep["efficiencies"].items()
        )
        + ".",
        "",
        "Errors are predicted / measured - 1 (positive: the engine says slower or bigger). "
        "Memory compares torch's peak (allocator on GPU, process RSS on CPU) with the engine's "
        "weights + gradients + optimizer + activations + logits (framework buffers excluded).",
        "",
        "| configuration | step s measured | predicted | error | defaults error | tokens/s "
        "measured | predicted | peak GB measured | predicted | error |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rep["results"]:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | | | | |")
            continue
        m, p, e = r["measured"], r["predicted"], r["errors"]
        d = r.get("family_defaults")
        mem = m["peak_memory_bytes"]
        lines.append(
            f"| {r['label']} | {m['step_time']:.4f} | {p['step_time']:.4f} | "
            f"{_pct(e['step_time'])} | {_pct(d['step_time_error']) if d else '—'} | "
            f"{m['tokens_per_s']:,.0f} | {p['tokens_per_s']:,.0f} | "
            f"{'—' if mem is None else f'{mem / 1e9:.2f}'} | {p['memory_bytes'] / 1e9:.2f} | "
            f"{_pct(e['memory'])} |"
        )
    lines += [
        "",
        "| error | n | median abs | max abs | mean signed |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, s in rep["summary"].items():
        lines.append(
            f"| {key} | {s['n']} | {_pct(s['median_abs'], False)} | {_pct(s['max_abs'], False)} | "
            f"{_pct(s['mean_signed'])} |"
        )
    notes = rep.get("profile_notes") or []
    if notes:
        lines += ["", "Profile notes: " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu", "xla"])
    ap.add_argument("--quick", action="store_true", help="calibrate --quick and fewer steps")
    ap.add_argument("--out", type=Path, help="output folder (required unless --rescore)")
    ap.add_argument("--rescore", type=Path, help="recompute an existing report's predictions")
    ap.add_argument("--profile", type=Path, help="reuse this profile instead of calibrating")
    ap.add_argument("--limit", type=int, help="measure only the first N configurations")
    ap.add_argument("--steps", type=int, help="timed steps per configuration")
    ap.add_argument("--threads", type=int, help="CPU threads (CPU device only; default 1)")
    a = ap.parse_args(argv)
    if a.rescore:
        if not a.profile:
            ap.error("--rescore needs --profile")
        rescore(a.rescore, a.profile)
        print(f"rescored: {a.rescore}", flush=True)
        return 0
    if a.out is None:
        ap.error("--out is required")
    if a.device == "cpu" and a.threads is None:
        # one thread: on a shared machine, OpenMP threads stall waiting for each other
        a.threads = 1
    a.out.mkdir(parents=True, exist_ok=True)
    log = a.out / "run.log"
    log.write_text("", encoding="utf-8")
    t0 = time.perf_counter()
    profile = a.profile or calibrate(a.device, a.quick, a.out, log, a.threads)
    configs = CPU_CONFIGS if a.device == "cpu" else GPU_CONFIGS
    configs = configs[: a.limit] if a.limit else configs
    steps = a.steps or (3 if a.quick else 8)
    warmup = 1 if a.quick else 3
    results = []
    for i, cfg in enumerate(configs, 1):
        r = measure(cfg, a.device, profile, steps, warmup, log)
        if "error" not in r:
            r["family_defaults"] = family_default_prediction(r)
            e = r["errors"]
            print(
                f"[{i}/{len(configs)}] {r['label']}: step {r['measured']['step_time']:.4f} s "
                f"measured, {r['predicted']['step_time']:.4f} s predicted "
                f"({_pct(e['step_time'])}); memory {_pct(e['memory'])}",
                flush=True,
            )
        else:
            print(f"[{i}/{len(configs)}] {r['label']}: FAILED {r['error']}", flush=True)
        results.append(r)
    write_report(a.out, profile, results)
    print(f"report: {a.out / 'measure-report.md'} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
