"""The engine's prediction for a configuration that `chipswitch measure` trains, and the
comparison of the two. Pure (no torch): the training itself is in `train.py`.

The engine is run exactly as `plan` would for one device: `Workload(shape truncated to N
layers, global_batch=B, seq_len=S, bf16)` and `Plan(micro_batch=B, recompute=...)`.

What a measurement can be compared with, and the adjustments made to be fair:

- Memory: `torch.cuda.max_memory_allocated` counts tensors only, not the CUDA context or
  allocator slack, so the engine's framework buffers (`perf.memory.FRAMEWORK_BYTES`) are left
  out of the compared figure (they are shown apart).
- Precision: the engine counts Megatron's bf16 mixed precision (persistent bf16 weights 2 B,
  fp32 gradients 4 B, fp32 master weights and AdamW moments 12 B per parameter: 18 B;
  activations 2 B per element). On a GPU `measure` trains PyTorch AMP, the common recipe
  without Megatron: fp32 parameters 4 B, fp32 gradients 4 B, moments 8 B (16 B per parameter)
  plus bf16 weight copies that autocast makes in the forward and frees during the backward,
  so they are not all alive at the peak. That mismatch is left in, not adjusted away: expect
  the engine to over-count GPU memory by up to about 2 B per parameter (the embedding, which
  autocast does not cast, included). On a CPU `measure` trains in fp32 (4 + 4 + 8 B per
  parameter, 4 B activations), so the engine's categories are rescaled by those byte ratios,
  its memory-bound time (element-wise ops, the recomputed ones included) is doubled (4-byte
  elements) and the optimizer step scaled by 28/30 B per parameter. Each adjustment is listed
  in the result. The GEMM roofline's byte term stays at 2 B (CPU GEMMs here are
  compute-bound).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from chipswitch.calibrate.apply import LOCAL, calibrated_chip, match_chip_id
from chipswitch.calibrate.profile import CalibrationProfile
from chipswitch.catalog import Catalog
from chipswitch.errors import ChipswitchError
from chipswitch.hardware.spec import Chip
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import Plan, Recompute
from chipswitch.perf.efficiency import CalibrationTable, Efficiency
from chipswitch.perf.estimate import BWD
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import evaluate_plan

TrainPrecision = Literal["bf16", "fp32"]

#: fp32 training bytes over the engine's bf16 mixed-precision bytes, per memory category.
FP32_MEMORY_RATIO = {
    "mem_weights": 4.0 / 2.0,
    "mem_gradients": 4.0 / 4.0,
    "mem_optimizer": 8.0 / 12.0,
    "mem_activations": 4.0 / 2.0,
    "mem_logits": 1.0,  # fp32 in both
}
#: PyTorch autocast (bf16) keeps fp32 parameters, fp32 gradients and fp32 Adam moments:
#: 4 + 4 + 8 = 16 bytes per parameter, against Megatron's 2 + 4 + 12 = 18 that the engine
#: assumes; activations are bf16 in both.
AMP_MEMORY_RATIO = {
    "mem_weights": 4.0 / 2.0,
    "mem_gradients": 4.0 / 4.0,
    "mem_optimizer": 8.0 / 12.0,
    "mem_activations": 1.0,
    "mem_logits": 1.0,
}
FP32_OPTIMIZER_RATIO = 28.0 / 30.0  # fp32 AdamW: read p, g, m, v; write p, m, v
MEMORY_TERMS = ("mem_weights", "mem_gradients", "mem_optimizer", "mem_activations", "mem_logits")
TIME_TERMS = (
    "compute_matmul",
    "compute_attention",
    "compute_memory_bound",
    "compute_head",
    "recompute",
    "layer_overhead",
    "host_exposed",
    "optimizer",
)


def check_supported(shape: ModelShape) -> None:
    """Raise ChipswitchError for shape features the measured model does not build."""
    problems = []
    if shape.kind != "decoder":
        problems.append(f"kind {shape.kind} (decoder-only models only)")
    if shape.moe is not None:
        problems.append("mixture-of-experts layers")
    if shape.mla is not None:
        problems.append("multi-head latent attention")
    if shape.position == "alibi":
        problems.append("ALiBi positions")
    if shape.sliding_window:
        problems.append("sliding-window attention")
    if problems:
        raise ChipswitchError(
            f"measure builds dense decoder transformers; {shape.id} has " + ", ".join(problems)
        )


def truncate(shape: ModelShape, layers: int | None) -> ModelShape:
    """`shape` with its first `layers` layers (the published reference count is dropped)."""
    if layers is None or layers == shape.layers:
        return shape
    if layers < 1:
        raise ChipswitchError("--layers must be at least 1")
    if layers > shape.layers:
        raise ChipswitchError(f"--layers {layers} exceeds the {shape.layers} layers of {shape.id}")
    return shape.model_copy(
        update={
            "id": f"{shape.id}-{layers}l",
            "name": f"{shape.name} (first {layers} of {shape.layers} layers)",
            "layers": layers,
            "reference": None,
        }
    )


@dataclass(frozen=True)
class MeasureConfig:
    """One training configuration on one device."""

    shape: ModelShape  # already truncated
    micro_batch: int
    seq: int
    recompute: Recompute = "none"
    steps: int = 5
    warmup: int = 2

    def __post_init__(self) -> None:
        if self.micro_batch < 1 or self.seq < 1 or self.steps < 1 or self.warmup < 0:
            raise ChipswitchError("micro-batch, sequence and steps must be positive")

    @property
    def tokens(self) -> int:
        return self.micro_batch * self.seq

    def describe(self) -> str:
        return f"{self.shape.id} mb{self.micro_batch} seq{self.seq} recompute={self.recompute}"


@dataclass(frozen=True)
class Measured:
    """What the training run measured."""

    device: str
    device_name: str
    precision: TrainPrecision
    params: int
    step_times: tuple[float, ...]  # every timed step, seconds
    step_time: float  # median
    tokens_per_s: float
    peak_memory_bytes: float | None
    memory_method: str
    loss_first: float
    loss_last: float
    torch_version: str


@dataclass(frozen=True)
class Prediction:
    """The engine's figures for the same configuration, made comparable (module docstring)."""

    chip_id: str
    chip_name: str
    calibration: str
    step_time: float
    tokens_per_s: float
    memory_bytes: float  # without framework buffers
    engine_step_time: float  # before the precision adjustment
    engine_memory_total: float  # as the engine reports it, framework buffers included
    framework_bytes: float
    time_terms: dict[str, float]
    memory_terms: dict[str, float]
    adjustments: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    config: MeasureConfig
    measured: Measured
    predicted: Prediction
    errors: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "config": {
                "model": c.shape.id,
                "layers": c.shape.layers,
                "micro_batch": c.micro_batch,
                "seq": c.seq,
                "recompute": c.recompute,
                "steps": c.steps,
                "warmup": c.warmup,
            },
            "measured": asdict(self.measured),
            "predicted": asdict(self.predicted),
            "errors": dict(self.errors),
            "error_convention": "predicted / measured - 1",
        }


def prediction_inputs(
    profile: CalibrationProfile | None,
    cat: Catalog,
    table: CalibrationTable,
    hardware: str | None,
    device_name: str,
    device_kind: str,
) -> tuple[Chip, Efficiency | None, list[str]]:
    """The chip and efficiency the engine predicts with (None: the family defaults)."""
    if profile is not None:
        return calibrated_chip(profile, cat, hardware, table)
    if hardware and hardware.lower() != LOCAL:
        return cat.chip(hardware), None, []
    chip_id = match_chip_id(device_name, cat.chips)
    if chip_id is None:
        raise ChipswitchError(
            f"{device_name} ({device_kind}) is not in the catalog, so the engine has no rates "
            "for it: run `chipswitch calibrate --device "
            f"{device_kind} --quick --out profile.json` and pass --calibration profile.json "
            "(or name a catalog chip with --hardware)"
        )
    return cat.chip(chip_id), None, []


def predict(
    cfg: MeasureConfig,
    chip: Chip,
    eff: Efficiency | None,
    precision: TrainPrecision,
    cat: Catalog | None = None,
) -> Prediction:
    """The engine's step time and memory for `cfg` on one `chip`, made comparable."""
    # calibrate/model.py trains in eager PyTorch (SDPA attention, unfused norms, selective
    # recomputation of norms and activations only): pytorch-eager in data/software.yaml
    w = Workload(
        cfg.shape,
        global_batch=cfg.micro_batch,
        seq_len=cfg.seq,
        precision="bf16",
        software="pytorch-eager",
    )
    plan = Plan(micro_batch=cfg.micro_batch, recompute=cfg.recompute)
    b, sys = evaluate_plan(w, chip, 1, plan, catalog=cat, eff=eff)
    row = b.row(0)
    time_terms = {k: row[k] for k in TIME_TERMS}
    mem_terms = {k: row[k] for k in MEMORY_TERMS}
    step = row["step_time"]
    adjustments: list[str] = []
    if precision == "fp32":
        mem_bound = row["compute_memory_bound"]
        recomputed = mem_bound / (1.0 + BWD) if cfg.recompute != "none" else 0.0
        extra = mem_bound + recomputed
        opt_delta = row["optimizer"] * (FP32_OPTIMIZER_RATIO - 1.0)
        step = step + extra + opt_delta
        time_terms["compute_memory_bound"] = 2.0 * mem_bound
        time_terms["recompute"] = row["recompute"] + recomputed
        time_terms["optimizer"] = row["optimizer"] * FP32_OPTIMIZER_RATIO
        adjustments.append(
            f"fp32 elements: memory-bound time doubled (+{extra * 1e3:.2f} ms per step)"
        )
        adjustments.append("fp32 AdamW: optimizer step x 28/30 bytes per parameter")
        for k, r in FP32_MEMORY_RATIO.items():
            mem_terms[k] = row[k] * r
        adjustments.append(
            "fp32 memory: weights x2, gradients x1, optimizer x8/12, activations x2, logits x1"
        )
    else:
        for k, r in AMP_MEMORY_RATIO.items():
            mem_terms[k] = row[k] * r
        adjustments.append(
            "torch autocast memory: fp32 weights (x2), fp32 gradients, Adam m+v (x8/12) = "
            "16 B/parameter instead of Megatron's 18"
        )
    mem = sum(mem_terms.values())
    notes = list(sys.assumptions)
    return Prediction(
        chip_id=chip.id,
        chip_name=chip.name,
        calibration=sys.eff.name,
        step_time=step,
        tokens_per_s=cfg.tokens / step,
        memory_bytes=mem,
        engine_step_time=row["step_time"],
        engine_memory_total=row["mem_total"],
        framework_bytes=row["mem_buffers"],
        time_terms=time_terms,
        memory_terms=mem_terms,
        adjustments=tuple(adjustments),
        notes=tuple(notes),
    )


def compare(cfg: MeasureConfig, measured: Measured, predicted: Prediction) -> Comparison:
    """Errors as predicted / measured - 1 (positive: the engine says slower / bigger)."""
    mem_err = None
    if measured.peak_memory_bytes:
        mem_err = predicted.memory_bytes / measured.peak_memory_bytes - 1.0
    errors: dict[str, float | None] = {
        "step_time": predicted.step_time / measured.step_time - 1.0,
        "tokens_per_s": predicted.tokens_per_s / measured.tokens_per_s - 1.0,
        "memory": mem_err,
    }
    return Comparison(cfg, measured, predicted, errors)
