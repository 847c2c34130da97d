"""`chipswitch calibrate` and `chipswitch measure`: ground the engine on real hardware.

Both need PyTorch (`pip install 'chipswitch[calibrate]'`); it is imported only when they run.
Progress bars go to stderr, results to stdout.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from chipswitch import format as fmt
from chipswitch._io import check_writable
from chipswitch.calibrate.agreement import (
    Comparison,
    MeasureConfig,
    TrainPrecision,
    compare,
    predict,
    prediction_inputs,
    truncate,
)
from chipswitch.calibrate.apply import (
    LOCAL,
    attention_rate,
    calibrated_chip,
    check_device_is_chip,
    copy_bandwidth,
    large_gemm_rate,
    match_chip_id,
)
from chipswitch.calibrate.profile import CalibrationProfile, load_profile, save_profile
from chipswitch.calibrate.runtime import Device, device_memory_free
from chipswitch.cli.common import (
    console,
    err_console,
    fmt_bandwidth,
    fmt_bytes,
    fmt_flops,
    get_catalog,
    new_table,
    print_json,
    print_table,
)
from chipswitch.errors import ChipswitchError
from chipswitch.parallel.plan import Recompute
from chipswitch.perf.efficiency import load_calibration

if TYPE_CHECKING:
    from chipswitch.calibrate.bench import BenchPlan

DeviceOpt = Annotated[
    str,
    typer.Option("--device", "-d", help="cuda, cpu, xla or auto (CUDA when present, else CPU)."),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU threads for torch (default: torch's choice)."),
]
MEMORY_HEADROOM = 0.8  # refuse a CPU run whose predicted memory exceeds this share of free RAM


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[detail]}"),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )


def _device(name: str, threads: int | None) -> Device:
    from chipswitch.calibrate.runtime import require_torch, resolve_device

    torch = require_torch()
    dev = resolve_device(name)
    if threads is not None:
        torch.set_num_threads(threads)
    return dev


def _command(ctx: typer.Context) -> str:
    """The command line as typed; rebuilt from the parsed options when run in-process."""
    if Path(sys.argv[0]).name in ("chipswitch", "app.py"):
        return shlex.join(["chipswitch", *sys.argv[1:]])
    opts = []
    for key, value in ctx.params.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-").removeprefix("as-")
        opts.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join([ctx.command_path, *opts])


# -- calibrate ------------------------------------------------------------------------------
def _summary(profile: CalibrationProfile, out: Path | None) -> None:
    env = profile.environment
    console.print(
        f"[bold]{env.device_name}[/] ({env.device}, {env.device_count} device(s)); torch "
        f"{env.torch_version}"
        + (f", CUDA {env.cuda_version}" if env.cuda_version else "")
        + (f", driver {env.driver_version}" if env.driver_version else "")
        + f"; {env.cpu_threads} CPU thread(s)"
    )
    t = new_table("Measured")
    t.add_column("what")
    t.add_column("achieved", justify="right")
    t.add_column("points", justify="right")
    for prec in ("bf16", "fp16", "fp32", "fp8"):
        rate = large_gemm_rate(profile, prec)
        if rate is not None:
            n = len(profile.matmul_points(prec))
            t.add_row(f"GEMM {prec}, large shapes", fmt_flops(rate), str(n))
    bw = copy_bandwidth(profile)
    if bw is not None:
        t.add_row("copy (read + write)", fmt_bandwidth(bw), str(len(profile.memory)))
    att = attention_rate(profile)
    if att is not None:
        t.add_row("attention fwd+bwd, causal", fmt_flops(att), str(len(profile.attention)))
    for op in ("rmsnorm", "layernorm", "residual_add", "swiglu", "gelu"):
        pts = [p for p in profile.elementwise if p.op == op]
        if pts:
            best = max(p.bytes_per_s for p in pts)
            t.add_row(f"{op} (fused-kernel bytes)", fmt_bandwidth(best), str(len(pts)))
    if profile.layer_overhead:
        t.add_row(
            "host overhead per layer, fwd+bwd",
            f"{profile.layer_overhead.seconds_per_layer * 1e6:,.0f} µs",
            "2",
        )
    for c in profile.collectives:
        t.add_row(
            f"all-reduce {c.size_bytes / 1e6:,.0f} MB x{c.world_size} (bus)",
            fmt_bandwidth(c.busbw),
            "1",
        )
    print_table(t)
    cat = get_catalog()
    chip, eff, notes = calibrated_chip(profile, cat, None, load_calibration())
    e = new_table(f"Engine efficiencies on {chip.id} ({chip.name})")
    for col in ("parameter", "value"):
        e.add_column(col, justify="left" if col == "parameter" else "right")
    e.add_column("from", justify="left")
    measured = {
        "matmul": True,
        "fp8_matmul": bool(profile.matmul_points("fp8")),
        "attention": bool(profile.attention),
        "memory": bool(profile.memory),
        "collective_up": bool(profile.collectives),
    }
    for key, ok in measured.items():
        e.add_row(key, f"{getattr(eff, key):.3f}", "profile" if ok else "family default")
    e.add_row("kernel_overhead", f"{eff.kernel_overhead * 1e6:,.1f} µs", "fit to GEMM curve")
    host = profile.environment.device == "cpu" and profile.layer_overhead is not None
    e.add_row(
        "layer_overhead",
        f"{eff.layer_overhead * 1e6:,.1f} µs",
        "profile" if host else "family default",
    )
    print_table(e)
    for note in [*profile.notes, *notes]:
        err_console.print(f"[yellow]note:[/] {note}")
    if out is not None:
        console.print(f"profile written to {out}")


def calibrate(
    ctx: typer.Context,
    device: DeviceOpt = "auto",
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer shapes and repeats (under a minute).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Profile file to write (default: profile-DEVICE.json)."),
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option(
            "--hardware", "-H", help="Catalog chip this device is (default: from its name)."
        ),
    ] = None,
    threads: ThreadsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
) -> None:
    """Microbenchmark this device (GEMMs, copy, attention, norms, collectives) into a profile."""
    if out is not None:  # before loading torch and measuring for minutes
        check_writable(out, make_parents=True)
    dev = _device(device, threads)
    from chipswitch.calibrate.bench import default_plan, run_calibration

    cat = get_catalog()
    path = check_writable(out or Path(f"profile-{dev.kind}.json"), make_parents=True)
    chip_id: str | None = None
    if hardware:
        chip = cat.chip(hardware)
        check_device_is_chip(dev.kind, dev.name, chip)
        chip_id = chip.id
    else:
        chip_id = match_chip_id(dev.name, cat.chips)
    plan: BenchPlan = default_plan(dev, quick)
    with _progress() as bar:
        task = bar.add_task(f"calibrate {dev.kind}", total=plan.steps(), detail="")

        def tick(label: str) -> None:
            bar.update(task, advance=1, detail=label)

        profile = run_calibration(
            dev, plan, command=_command(ctx), quick=quick, chip_id=chip_id, progress=tick
        )
    save_profile(profile, path)
    if as_json:
        print_json(profile)
        return
    _summary(profile, path)


def _quick_profile(dev: Device, command: str) -> CalibrationProfile:
    from chipswitch.calibrate.bench import default_plan, run_calibration

    plan: BenchPlan = default_plan(dev, True)
    with _progress() as bar:
        task = bar.add_task(f"calibrate {dev.kind}", total=plan.steps(), detail="")

        def tick(label: str) -> None:
            bar.update(task, advance=1, detail=label)

        return run_calibration(dev, plan, command=command, quick=True, chip_id=None, progress=tick)


# -- measure --------------------------------------------------------------------------------
def _check_fits(dev: Device, cmp_memory: float, cfg: MeasureConfig) -> None:
    """Refuse a CPU run that the engine says would not fit in free RAM (it could take the
    machine down); on a GPU the allocator fails cleanly, so only warn."""
    free = device_memory_free(dev)
    if free is None or cmp_memory <= MEMORY_HEADROOM * free:
        return
    msg = (
        f"{cfg.describe()} needs about {fmt_bytes(cmp_memory)} by the engine's count; "
        f"{dev.name} has {fmt_bytes(free)} free"
    )
    if dev.kind == "cpu":
        raise ChipswitchError(msg + ": use fewer --layers, a smaller --micro-batch or --seq")
    err_console.print(f"[yellow]warning:[/] {msg}; trying anyway")


def _print_comparison(c: Comparison) -> None:
    m, p, cfg = c.measured, c.predicted, c.config
    console.print(
        f"[bold]{cfg.shape.name}[/]: micro-batch {cfg.micro_batch} x {cfg.seq} tokens, "
        f"recompute={cfg.recompute}, {m.params / 1e6:,.1f}M parameters, {m.precision} on "
        f"{m.device_name} (torch {m.torch_version})"
    )
    console.print(
        f"engine: {p.chip_id} ({p.chip_name}), calibration '{p.calibration}'; "
        f"{len(m.step_times)} timed steps, loss {m.loss_first:.3f} -> {m.loss_last:.3f}"
    )
    t = new_table("Measured vs predicted (error = predicted / measured - 1)")
    for col in ("", "measured", "predicted", "error"):
        t.add_column(col, justify="left" if not col else "right")

    def err(key: str) -> str:
        v = c.errors.get(key)
        return fmt.signed_percent(v)

    t.add_row("step time (s)", fmt.sig(m.step_time), fmt.sig(p.step_time), err("step_time"))
    t.add_row("tokens/s", fmt.sig(m.tokens_per_s), fmt.sig(p.tokens_per_s), err("tokens_per_s"))
    t.add_row(
        "peak memory (GB)",
        "—" if m.peak_memory_bytes is None else fmt.sig(m.peak_memory_bytes / 1e9),
        fmt.sig(p.memory_bytes / 1e9),
        err("memory"),
    )
    print_table(t)
    bt = new_table("Predicted step time by term")
    bt.add_column("term")
    bt.add_column("ms", justify="right")
    for k, v in p.time_terms.items():
        if v > 0:
            bt.add_row(k, fmt.sig(v * 1e3))
    print_table(bt)
    mt = new_table("Predicted memory by category (framework buffers excluded)")
    mt.add_column("category")
    mt.add_column("GB", justify="right")
    for k, v in p.memory_terms.items():
        mt.add_row(k.removeprefix("mem_"), fmt.sig(v / 1e9))
    mt.add_row("(framework buffers, not compared)", fmt.sig(p.framework_bytes / 1e9))
    print_table(mt)
    console.print(f"peak memory measured as: {m.memory_method}")
    for a in p.adjustments:
        console.print(f"adjusted: {a}")
    for note in p.notes:
        err_console.print(f"[yellow]note:[/] {note}")


def measure(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id (chipswitch models list).")],
    micro_batch: Annotated[
        int, typer.Option("--micro-batch", min=1, help="Sequences per step (one device).")
    ],
    seq: Annotated[int, typer.Option("--seq", "-s", min=1, help="Sequence length (tokens).")],
    layers: Annotated[
        int | None, typer.Option("--layers", "-l", min=1, help="Keep the first N layers.")
    ] = None,
    recompute: Annotated[
        Recompute, typer.Option("--recompute", help="Activation recomputation.")
    ] = "none",
    steps: Annotated[int, typer.Option("--steps", min=1, help="Timed steps.")] = 5,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed first steps.")] = 2,
    device: DeviceOpt = "auto",
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            help="Profile from `chipswitch calibrate` to predict with (default: the family "
            "calibration; a device outside the catalog is profiled with --quick first).",
        ),
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option("--hardware", "-H", help="Catalog chip to predict for (default: the device)."),
    ] = None,
    threads: ThreadsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Train a real model for a few steps; compare step time and memory with the engine."""
    profile = load_profile(calibration) if calibration else None
    if threads is None and profile is not None and profile.environment.device == "cpu":
        threads = profile.environment.cpu_threads  # measure as the profile was measured
    dev = _device(device, threads)
    if profile is not None and profile.environment.device != dev.kind and hardware is None:
        err_console.print(
            f"[yellow]note:[/] the profile was measured on {profile.environment.device_name} "
            f"({profile.environment.device}), this run is on {dev.name} ({dev.kind})"
        )
    cat = get_catalog()
    cfg = MeasureConfig(
        truncate(cat.model(model), layers), micro_batch, seq, recompute, steps, warmup
    )
    if profile is None and hardware is None and match_chip_id(dev.name, cat.chips) is None:
        # no datasheet to predict from: measure the device's rates first
        err_console.print(
            f"[yellow]note:[/] {dev.name} is not in the catalog and no --calibration was "
            "given: running `chipswitch calibrate --quick` first (save one with --out and pass "
            "--calibration to skip this)"
        )
        profile = _quick_profile(dev, "chipswitch measure (automatic calibrate --quick)")
    from chipswitch.calibrate.agreement import check_supported

    check_supported(cfg.shape)
    chip, eff, notes = prediction_inputs(
        profile, cat, load_calibration(), hardware, dev.name, dev.kind
    )
    precision: TrainPrecision = "fp32" if dev.kind == "cpu" else "bf16"
    pred = predict(cfg, chip, eff, precision, cat)
    if notes:
        pred = type(pred)(**{**pred.__dict__, "notes": (*pred.notes, *notes)})
    _check_fits(dev, pred.memory_bytes, cfg)
    from chipswitch.calibrate.train import train_and_measure

    with _progress() as bar:
        task = bar.add_task(f"train {cfg.shape.id}", total=warmup + steps, detail="")

        def on_step(done: int, total: int, seconds: float) -> None:
            phase = "warm-up" if done <= warmup else "timed"
            bar.update(task, completed=done, detail=f"{phase} step {seconds:.3f} s")

        measured = train_and_measure(dev, cfg, on_step)
    result = compare(cfg, measured, pred)
    if as_json:
        out: dict[str, Any] = result.as_dict()
        out["config"]["base_model"] = cfg.shape.id if layers is None else model
        out["calibration_file"] = str(calibration) if calibration else None
        out["hardware"] = chip.id if chip.id != LOCAL else None
        print_json(out)
        return
    _print_comparison(result)


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
    app.command("measure")(measure)
