"""A training system: chips x count, scale-up domains and scale-out links, in workers.

A worker is the unit that holds one rank of the parallel plan: a GPU, a TPU chip, or, for
Trainium runs laid out per NeuronCore, one NeuronCore (`workers_per_chip` = cores per chip,
each with its share of the chip's FLOP/s, HBM and links).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median

from chipswitch.hardware.spec import Chip, Precision
from chipswitch.perf.defaults import FALLBACKS, GEMM
from chipswitch.perf.efficiency import Efficiency, load_calibration
from chipswitch.units import GBIT

# fallbacks for unset catalog values (data/engine_defaults.yaml, with their reasons)
DEFAULT_NIC_PER_CHIP = FALLBACKS["nic_bit_per_s_per_chip"] / 8.0  # bytes/s
DEFAULT_NODE = int(FALLBACKS["chips_per_node"])
WAVE_FAMILIES = frozenset(GEMM["wave_quantised_families"])
LEGACY_ATTENTION: dict[str, float] = {
    k: float(v) for k, v in GEMM["legacy_attention_fraction"].items()
}


@dataclass(frozen=True)
class System:
    """Per-worker rates (SI) and topology, plus the efficiencies that apply to them."""

    chip: Chip
    n_chips: int
    workers_per_chip: int
    peak_bf16: float
    peak_fp8: float
    hbm_bytes: float
    hbm_bandwidth: float
    scale_up_bandwidth: float  # per worker, per direction
    scale_out_bandwidth: float  # per worker, per direction (NIC share)
    domain_workers: int  # workers sharing the scale-up fabric
    eff: Efficiency
    assumptions: tuple[str, ...] = field(default=())
    # A chip of a vendor with no measured row is spec-based: it is never predicted more
    # efficient than the measured chip families' typical (median) step time on the same plan
    # with these, their fitted efficiencies (perf/estimate.py).
    references: tuple[Efficiency, ...] = field(default=())
    wave_units: int | None = None  # SMs per worker whose GEMM tiles run in waves; None: none
    # fraction of the fitted flash-attention rate reached by kernels written for the previous
    # generation's tensor-core instructions (data/engine_defaults.yaml)
    legacy_attention: float = 1.0

    @property
    def split(self) -> float:
        """Fraction of the matmul and attention rates kept when each operation is split over
        the TensorCores of a megacore chip (Efficiency.megacore); 1 elsewhere."""
        return self.eff.megacore if self.chip.megacore > 1 else 1.0

    @property
    def workers(self) -> int:
        return self.n_chips * self.workers_per_chip

    def peak(self, precision: Precision) -> float:
        return self.peak_fp8 if precision == "fp8" else self.peak_bf16


def _nic_per_chip(c: Chip) -> float | None:
    if c.scale_out_bandwidth_per_node is None or not c.chips_per_node:
        return None
    return c.scale_out_bandwidth_per_node / c.chips_per_node


def _family_ratio(chip: Chip, peers: Iterable[Chip], attr: str) -> float | None:
    """Median of attr/peak_bf16 over chips of the same family (else vendor) that have it."""
    peers = list(peers)
    for pool in (
        [c for c in peers if c.family == chip.family],
        [c for c in peers if c.vendor == chip.vendor],
        peers,
    ):
        ratios = []
        for c in pool:
            v = _nic_per_chip(c) if attr == "nic_per_chip" else getattr(c, attr)
            pk = c.peak_flops.get("bf16") or c.peak_flops.get("fp16")
            if v and pk:
                ratios.append(v / pk)
        if ratios:
            return median(ratios)
    return None


def clock_factor(chip: Chip) -> float:
    """Sustained tensor-core clock at the chip's power limit over the clock at TDP.

    Dynamic CMOS power is P = a*C*V^2*f and, within the DVFS range, the voltage scales about
    linearly with the clock, so P ~ f^3 (Kaxiras & Martonosi, Computer Architecture Techniques
    for Power-Efficiency, 2008, ch. 2): f/f_TDP = (limit/TDP)^(1/3). Static power is ignored,
    which keeps the factor on the optimistic side. HBM bandwidth runs on its own clock and is
    not scaled. 1.0 without a limit below a known TDP."""
    limit, tdp = chip.power_limit_watts, chip.tdp_watts
    if limit is None or tdp is None or limit >= tdp:
        return 1.0
    return float((limit / tdp) ** (1.0 / 3.0))


def build_system(
    chip: Chip,
    n_chips: int,
    *,
    peers: Iterable[Chip] = (),
    workers_per_chip: int = 1,
    eff: Efficiency | None = None,
) -> System:
    """Assemble per-worker rates for `n_chips` of `chip`.

    Unset catalog values fall back to the median ratio of the chip's family (then vendor) to
    its bf16 peak; each fallback is listed in `assumptions` and widens the interval.
    """
    if n_chips < 1:
        raise ValueError("chip count must be at least 1")
    peers = list(peers)
    notes: list[str] = []
    peak = chip.peak("bf16")
    bw = chip.hbm_bandwidth
    if bw is None:
        ratio = _family_ratio(chip, peers, "hbm_bandwidth")
        bw = peak * (ratio or FALLBACKS["hbm_bytes_per_flop"])
        notes.append(f"HBM bandwidth unset: {bw / 1e12:.2f} TB/s from family bytes/FLOP")
    up = chip.scale_up_bandwidth
    if up is None:
        ratio = _family_ratio(chip, peers, "scale_up_bandwidth")
        up = peak * (ratio or FALLBACKS["scale_up_bytes_per_flop"])
        notes.append(f"scale-up bandwidth unset: {up / 1e9:.0f} GB/s from family ratio")
    domain = chip.scale_up_domain or chip.chips_per_node
    if domain is None:
        domain = 1
        notes.append("scale-up domain unset: 1 chip")
    node = chip.chips_per_node or min(domain, DEFAULT_NODE)
    out_node = chip.scale_out_bandwidth_per_node
    if out_node is None:
        ratio = _family_ratio(chip, peers, "nic_per_chip")
        out_chip = peak * ratio if ratio else DEFAULT_NIC_PER_CHIP
        if domain < n_chips:
            notes.append(
                f"scale-out bandwidth unset: {out_chip / GBIT:.0f} Gbit/s per chip "
                "from family ratio"
            )
    else:
        out_chip = out_node / node
    w = workers_per_chip
    references: tuple[Efficiency, ...] = ()
    if eff is None:
        table = load_calibration()
        eff = table.for_chip(chip.family, chip.vendor, chip.id, chip.release_year)
        if eff.level == "default":
            references = tuple(table.families.values())
    clock = clock_factor(chip)
    if clock < 1.0:
        notes.append(
            f"power limit {chip.power_limit_watts:.0f} W of {chip.tdp_watts:.0f} W TDP: "
            f"sustained compute clock x{clock:.3f} (P ~ f^3)"
        )
    if references:
        notes.append(
            f"{chip.id}: spec-based prediction (no published run of any {chip.vendor} chip): "
            "all-vendor efficiencies, never more efficient than the measured chip families' median "
            "on the same plan, wider interval"
        )
    elif eff.level != "family":
        notes.append(
            f"{chip.id} has no published measurements: {eff.level} efficiencies "
            f"('{eff.name}'), wider interval"
        )
    return System(
        chip=chip,
        n_chips=n_chips,
        workers_per_chip=w,
        peak_bf16=peak * clock / w,
        peak_fp8=chip.peak("fp8") * clock / w,
        hbm_bytes=chip.hbm_bytes / w,
        hbm_bandwidth=bw / w,
        scale_up_bandwidth=up / w,
        scale_out_bandwidth=out_chip / w,
        domain_workers=min(domain, n_chips) * w,
        eff=eff,
        assumptions=tuple(notes),
        references=references,
        wave_units=(
            chip.compute_units // w if chip.compute_units and chip.family in WAVE_FAMILIES else None
        ),
        legacy_attention=LEGACY_ATTENTION.get(chip.family, 1.0),
    )
