"""From a measured profile to the engine's inputs: an `Efficiency`, and a `Chip` when the
device is not in the catalog. Pure functions of the profile (no torch, no I/O).

How each efficiency is read off the profile (`efficiency_from_profile`):

- `matmul`: the achieved FLOP/s of the large GEMMs at the training precision (median over
  the points whose FLOP count is in the top third of the curve) over the chip's 16-bit peak;
  `fp8_matmul` the same for fp8 GEMMs over the fp8 peak.
- `memory`: the bandwidth of the largest copy (bytes read + written per second) over the
  chip's HBM bandwidth.
- `attention`: the achieved FLOP/s of causal SDPA forward + backward (engine FLOP
  convention, see `profile.py`) on the large points over the 16-bit peak.
- `kernel_overhead`: the engine's GEMM model is t = max(F/(P*e_mm), B/(W*e_mem)) + k0
  (`chipswitch.perf.compute.gemm_time`). With e_mm and e_mem fixed as above, k0 is fitted to
  the whole measured GEMM curve by least squares on relative residuals,
  min over k0 >= 0 of sum_i ((c_i + k0 - t_i) / t_i)^2, c_i the model time without overhead,
  whose solution is k0 = sum_i (t_i - c_i)/t_i^2 / sum_i 1/t_i^2 (clipped at 0). Relative
  residuals keep the large GEMMs from drowning the small ones, where the overhead shows.
- `layer_overhead`: on a synchronous device (CPU), the measured time per layer (forward +
  backward) of a tiny model minus what the engine already charges for that layer (its GEMMs
  with the fitted launch overhead, attention and memory-bound ops). On a GPU the host runs
  ahead of the kernels and its time is exposed only where the GPU work is too short to hide
  it, which the engine's additive term cannot express: the family value is kept there (the
  measured host time stays in the profile; docs/calibrate.md shows what it costs).
- `collective_up`: all-reduce bus bandwidth of the largest message over the chip's scale-up
  bandwidth per direction, when more than one device was measured.

Everything else (DP overlap, TP exposure, the error interval) keeps the base efficiency.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence

import numpy as np

from chipswitch.calibrate.profile import AttentionPoint, CalibrationProfile, MatmulPoint
from chipswitch.catalog import Catalog
from chipswitch.errors import ChipswitchError
from chipswitch.hardware.spec import Chip
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import Plan
from chipswitch.perf.compute import gemm_time
from chipswitch.perf.efficiency import CalibrationTable, Efficiency
from chipswitch.perf.estimate import estimate
from chipswitch.perf.system import build_system
from chipswitch.perf.workload import Workload

LOCAL = "local"  # vendor, family and id of a device built from its profile

#: The tiny model whose per-layer time `calibrate` measures as host/framework overhead.
OVERHEAD_SHAPE = ModelShape(
    id="calibrate-tiny",
    name="tiny model for host overhead",
    layers=2,
    hidden=64,
    heads=2,
    kv_heads=2,
    head_dim=32,
    ffn_hidden=128,
    vocab=256,
    gated_mlp=True,
    activation="swiglu",
    norm="rmsnorm",
)
OVERHEAD_SEQ = 16

#: Device names as drivers report them -> catalog chip ids (first match wins).
DEVICE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"H100.*PCIe", "h100-pcie"),
    (r"H100.*(96|94)\s*GB", "h100-sxm-96gb-500w"),
    (r"H100", "h100-sxm"),
    (r"H200", "h200"),
    (r"GB200", "gb200"),
    (r"GB300", "gb300"),
    (r"B200", "b200"),
    (r"B300", "b300"),
    (r"A100.*40\s*GB", "a100-40gb"),
    (r"A100", "a100-80gb"),
    (r"V100", "v100-sxm2"),
    (r"MI300X", "mi300x"),
    (r"MI325X", "mi325x"),
    (r"MI355X", "mi355x"),
    (r"MI250X", "mi250x"),
)


def match_chip_id(device_name: str, known: Iterable[str]) -> str | None:
    """The catalog chip a device name denotes ("NVIDIA H100 80GB HBM3" -> h100-sxm)."""
    ids = set(known)
    for pattern, chip_id in DEVICE_PATTERNS:
        if re.search(pattern, device_name, re.IGNORECASE) and chip_id in ids:
            return chip_id
    return None


def _large(points: Sequence[MatmulPoint] | Sequence[AttentionPoint]) -> float:
    """Median achieved FLOP/s over the points in the top third of FLOP counts."""
    flops = [p.flops for p in points]
    cut = sorted(flops, reverse=True)[max(0, len(flops) // 3 - 1)]
    return float(statistics.median(p.flops_per_s for p in points if p.flops >= cut))


def large_gemm_rate(profile: CalibrationProfile, precision: str) -> float | None:
    pts = profile.matmul_points(precision)
    return _large(pts) if pts else None


def copy_bandwidth(profile: CalibrationProfile) -> float | None:
    """Bandwidth of the largest measured copy (bytes read + written per second)."""
    if not profile.memory:
        return None
    return max(profile.memory, key=lambda p: p.size_bytes).bytes_per_s


def attention_rate(profile: CalibrationProfile) -> float | None:
    pts = [p for p in profile.attention if p.precision == profile.train_precision]
    return _large(pts) if pts else None


def fit_kernel_overhead(points: Sequence[MatmulPoint], chip: Chip, eff: Efficiency) -> float:
    """Least-squares launch overhead k0 (s) of the engine's GEMM model (module docstring)."""
    if not points:
        return eff.kernel_overhead
    sys = build_system(chip, 1, eff=eff.with_(kernel_overhead=0.0))
    m = np.array([p.m for p in points], dtype=np.float64)
    n = np.array([p.n for p in points], dtype=np.float64)
    k = np.array([p.k for p in points], dtype=np.float64)
    t = np.array([p.seconds for p in points], dtype=np.float64)
    c = gemm_time(m, n, k, sys, fp8=points[0].precision == "fp8")
    w = 1.0 / t**2
    return max(0.0, float(np.sum(w * (t - c)) / np.sum(w)))


def fit_layer_overhead(profile: CalibrationProfile, chip: Chip, eff: Efficiency) -> float | None:
    """Measured time per layer of the tiny model minus what the engine already charges for
    it (its GEMMs with launch overhead, attention, memory-bound ops), clipped at 0."""
    lo = profile.layer_overhead
    if lo is None:
        return None
    sys = build_system(chip, 1, eff=eff.with_(layer_overhead=0.0))
    plans = Plan().to_arrays()
    steps = []
    for n in (lo.layers_lo, lo.layers_hi):
        w = Workload(OVERHEAD_SHAPE.model_copy(update={"layers": n}), 1, lo.seq)
        b = estimate(w, sys, plans)
        steps.append(float(b.step_time[0] - b.optimizer[0]))
    engine = (steps[1] - steps[0]) / (lo.layers_hi - lo.layers_lo)
    return max(0.0, lo.seconds_per_layer - engine)


def efficiency_from_profile(
    profile: CalibrationProfile, chip: Chip, base: Efficiency
) -> Efficiency:
    """`base` with the efficiencies the profile measured on `chip` (module docstring)."""
    kw: dict[str, float | str] = {}
    peak16 = chip.peak("bf16")  # the engine's working rate; on CPU the fp32 rate stands in
    mm = large_gemm_rate(profile, profile.train_precision)
    if mm is not None:
        kw["matmul"] = mm / peak16
    fp8 = large_gemm_rate(profile, "fp8")
    if fp8 is not None:
        kw["fp8_matmul"] = fp8 / chip.peak("fp8")
    bw = copy_bandwidth(profile)
    if bw is not None and chip.hbm_bandwidth:
        kw["memory"] = bw / chip.hbm_bandwidth
    att = attention_rate(profile)
    if att is not None:
        kw["attention"] = att / peak16
    if profile.collectives and chip.scale_up_bandwidth:
        big = max(profile.collectives, key=lambda p: p.size_bytes)
        kw["collective_up"] = big.busbw / chip.scale_up_bandwidth
    eff = base.with_(**kw)
    pts = profile.matmul_points(profile.train_precision)
    eff = eff.with_(kernel_overhead=fit_kernel_overhead(pts, chip, eff))
    if profile.environment.device == "cpu":
        layer = fit_layer_overhead(profile, chip, eff)
        if layer is not None:
            eff = eff.with_(layer_overhead=layer)
    env = profile.environment
    # "family" level: a profile is a measurement of this very chip, the most specific level
    return eff.with_(level="family", name=f"profile {env.device_name} {env.date[:10]}")


def chip_from_profile(profile: CalibrationProfile) -> Chip:
    """A `Chip` for a device that is not in the catalog (the CPU): peak = best measured GEMM
    FLOP/s at the training precision, HBM bandwidth = measured copy bandwidth, memory = the
    device's memory (RAM for a CPU). Vendor and family are "local"."""
    env = profile.environment
    pts = profile.matmul_points(profile.train_precision)
    bw = copy_bandwidth(profile)
    if not pts or bw is None:
        raise ChipswitchError(
            "the profile has no matmul or copy measurements to build a device from"
        )
    best = max(p.flops_per_s for p in pts)
    fp8 = [p.flops_per_s for p in profile.matmul_points("fp8")]
    mem = env.device_memory_bytes or env.host_memory_bytes
    if mem is None:
        raise ChipswitchError("the profile does not record the device's memory size")
    return Chip(
        id=LOCAL,
        name=env.device_name,
        vendor=LOCAL,
        family=LOCAL,
        kind=env.device,
        aliases=(),
        release_year=None,
        peak_flops={
            "bf16": best,  # the engine's 16-bit slot holds the training-precision rate
            "fp16": None,
            "fp8": max(fp8) if fp8 else None,
            "fp32": max((p.flops_per_s for p in profile.matmul_points("fp32")), default=None),
        },
        hbm_bytes=mem,
        hbm_bandwidth=bw,
        tdp_watts=None,
        scale_up_name="none",
        scale_up_bandwidth=None,
        scale_up_direction_assumed=False,
        scale_up_domain=max(1, env.device_count),
        chips_per_node=max(1, env.device_count),
        scale_out_bandwidth_per_node=None,
        neuroncores_per_chip=None,
        sources=("calibration profile",),
        unset=("tdp_w", "scale_up.bandwidth_gb_per_s", "scale_out_per_node_gbit_per_s"),
    )


#: Vendors whose chips each kind of torch device can be (ROCm GPUs show up as "cuda"; TPUs and
#: Trainium through torch-xla). A CPU is never a catalog accelerator.
DEVICE_VENDORS: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "cuda": ("nvidia", "amd"),
    "xla": ("google", "aws"),
}


def check_device_is_chip(device_kind: str, device_name: str, chip: Chip) -> None:
    """Refuse to treat a `device_kind` device as catalog chip `chip` when it cannot be one
    (a CPU profile labelled H100 would make the engine predict an H100 at CPU speed)."""
    if chip.vendor in DEVICE_VENDORS.get(device_kind, (chip.vendor,)):
        return
    what = "a CPU" if device_kind == "cpu" else f"a {device_kind} device"
    raise ChipswitchError(
        f"{what} ({device_name}) cannot be {chip.id} ({chip.vendor}): its measured rates are "
        f"not {chip.id} efficiencies; calibrate on the {chip.id} itself, or without --hardware "
        f"to plan for this device (--hardware {LOCAL})"
    )


def profiled_chip(profile: CalibrationProfile, cat: Catalog) -> Chip:
    """The chip the profile was measured on: its catalog entry, else one built from it."""
    if profile.chip_id and profile.chip_id in cat.chips:
        chip = cat.chip(profile.chip_id)
        env = profile.environment
        check_device_is_chip(env.device, env.device_name, chip)
        return chip
    return chip_from_profile(profile)


def calibrated_chip(
    profile: CalibrationProfile, cat: Catalog, hardware: str | None, base: CalibrationTable
) -> tuple[Chip, Efficiency, list[str]]:
    """(target chip, its efficiency from the profile, notes) for `--hardware` + a profile.

    `hardware` None or "local" means the profiled device itself. Efficiencies are fractions
    of the *profiled* chip's datasheet rates; applying them to another catalog chip is allowed
    (same family, say) and noted. A device absent from the catalog has no datasheet to take
    fractions of, so it cannot lend them: the target keeps its family calibration, and a note
    says the profile was not used.
    """
    measured = profiled_chip(profile, cat)
    notes: list[str] = []
    if hardware is None or hardware.lower() in (LOCAL, measured.id):
        target = measured
    else:
        target = cat.chip(hardware)
        if measured.family == LOCAL:
            notes.append(
                f"the profile was measured on {profile.environment.device_name}, which is not "
                f"in the catalog: its efficiencies do not transfer to {target.id}, which keeps "
                f"its family calibration (use --hardware {LOCAL} to plan for the profiled "
                "device)"
            )
            return (
                target,
                base.for_chip(target.family, target.vendor, target.id, target.release_year),
                notes,
            )
        if target.id != measured.id:
            notes.append(
                f"efficiencies measured on {measured.id} ({profile.environment.device_name}) "
                f"applied to {target.id}"
            )
    eff = efficiency_from_profile(
        profile, measured, base.for_chip(measured.family, measured.vendor)
    )
    for key in ("matmul", "attention", "memory", "fp8_matmul"):
        value = getattr(eff, key)
        if value > 1.05 and measured.family != LOCAL:
            notes.append(
                f"measured {key} efficiency {value:.2f} exceeds the {measured.id} datasheet: "
                "is the device another model (chip id) than the profile says?"
            )
    return target, eff, notes


def table_with_profile(
    profile: CalibrationProfile, cat: Catalog, table: CalibrationTable
) -> tuple[CalibrationTable, Chip, list[str]]:
    """`table` with the profiled chip's family replaced by the profile's efficiencies, and
    notes. A device absent from the catalog matches no validation row: `table` is returned
    unchanged, with a note saying so."""
    chip = profiled_chip(profile, cat)
    if chip.family == LOCAL:
        note = (
            f"the profile was measured on {profile.environment.device_name}, which is not in "
            "the catalog; validation rows name catalog chips, so it changes no prediction"
        )
        return table, chip, [note]
    eff = efficiency_from_profile(
        profile, chip, table.for_chip(chip.family, chip.vendor, None, chip.release_year)
    )
    families = {**table.families, chip.family: eff}
    new = CalibrationTable(
        families, table.vendors, table.default, table.meta, table.newest_family, table.family_years
    )
    return new, chip, []
