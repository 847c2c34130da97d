"""What every exporter shares: the job being exported, the layout checks, the result, the errors.

An exporter turns one `ExportJob` (a catalog model, a chip, a chip count, a plan and the
batch) into the run configuration of one training framework. Checks that hold for every
framework (the plan uses every chip; micro-batch x data-parallel divides the global batch;
tensor parallelism stays inside the scale-up domain; heads split over TP; experts over EP)
live here; each framework module adds what only it requires and raises `CannotExpressError`
naming what it lacks, so a plan is never exported as a silently different configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from chipswitch.errors import ChipswitchError
from chipswitch.hardware.spec import Chip, Precision
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import Plan


class ExportError(ChipswitchError):
    """A plan or job that no framework could run as asked (a layout mistake)."""


class CannotExpressError(ExportError):
    """A plan that this framework cannot express; `missing` names each feature it lacks.

    `of_plan` is False when what is missing does not depend on the plan (the model's
    architecture, the chip's vendor): no other plan of the same job would do."""

    def __init__(self, framework: str, missing: list[str], *, of_plan: bool = True) -> None:
        self.framework = framework
        self.missing = missing
        self.of_plan = of_plan
        what = "this plan" if of_plan else "this job"
        super().__init__(f"{framework} cannot express {what}: " + "; ".join(missing))


@dataclass(frozen=True)
class ExportJob:
    """One plan of one training job, as the exporters read it."""

    model: ModelShape
    chip: Chip
    n_chips: int
    plan: Plan
    global_batch: int  # sequences per optimizer step
    seq_len: int  # tokens per sequence
    precision: Precision = "bf16"
    ep_overlap: bool = False  # the stack hides the MoE all-to-all (software.yaml)

    @property
    def grad_accumulation(self) -> int:
        """Micro-batches per data-parallel rank and step: global / (DP x micro-batch)."""
        return self.global_batch // (self.plan.dp * self.plan.micro_batch)

    @property
    def chips_per_node(self) -> int:
        """Chips under one host (torchrun's `--nproc-per-node`); 8 where the catalog is unset."""
        return min(self.chip.chips_per_node or 8, self.n_chips)

    @property
    def nodes(self) -> int:
        return -(-self.n_chips // self.chips_per_node)


@dataclass(frozen=True)
class Placeholder:
    """A field the engine does not decide (data, tokenizer, learning rate): the user sets it."""

    name: str  # the framework's own key or flag
    meaning: str


@dataclass(frozen=True)
class ExportedConfig:
    """The run configuration of one plan in one framework's own format."""

    framework: str
    filename: str  # suggested file name
    media_type: str
    text: str
    plan: Plan
    placeholders: tuple[Placeholder, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "framework": self.framework,
            "filename": self.filename,
            "media_type": self.media_type,
            "plan": self.plan.describe(),
            "placeholders": [{"name": p.name, "meaning": p.meaning} for p in self.placeholders],
            "notes": list(self.notes),
            "content": self.text,
        }


#: Fields no plan decides, common to every framework (each module names them its own way).
PLACEHOLDER_MEANINGS = {
    "data": "training data (path or dataset name)",
    "tokenizer": "tokenizer (path or hub id)",
    "lr": "peak learning rate",
    "steps": "number of optimizer steps",
    "checkpoints": "checkpoint directory",
}


def check_job(job: ExportJob) -> None:
    """Mistakes any framework would fail on at launch; raise ExportError naming the one found."""
    p, m = job.plan, job.model
    if m.kind != "decoder":
        raise ExportError(f"{m.id} is an encoder; the exporters write decoder-only pretraining")
    if p.workers != job.n_chips:
        raise ExportError(
            f"plan {p.describe()} uses TP x PP x DP x CP = {p.workers} chips, the job has "
            f"{job.n_chips}"
        )
    if job.global_batch % (p.dp * p.micro_batch):
        raise ExportError(
            f"micro-batch {p.micro_batch} x DP {p.dp} = {p.dp * p.micro_batch} does not divide "
            f"the global batch of {job.global_batch} sequences"
        )
    if m.heads % p.tp:
        raise ExportError(f"TP{p.tp} does not divide the {m.heads} attention heads of {m.id}")
    domain = job.chip.scale_up_domain or job.chip.chips_per_node or 1
    if p.tp > domain:
        raise ExportError(
            f"TP{p.tp} crosses the scale-up domain of {job.chip.id} ({domain} chips): tensor "
            "parallelism communicates in every layer and must stay inside it"
        )
    if p.ep > 1:
        if m.moe is None:
            raise ExportError(f"EP{p.ep} needs a mixture-of-experts model; {m.id} is dense")
        if m.moe.experts % p.ep:
            raise ExportError(f"EP{p.ep} does not divide the {m.moe.experts} experts of {m.id}")
        if (p.dp * p.cp) % p.ep:
            raise ExportError(f"EP{p.ep} does not divide DP x CP = {p.dp * p.cp}")
    if p.cp > 1 and job.seq_len % (2 * p.cp):
        raise ExportError(
            f"CP{p.cp} needs the sequence ({job.seq_len}) divisible by 2 x CP (load-balanced "
            "causal chunks)"
        )
    if p.vp > 1 and p.pp == 1:
        raise ExportError(f"VP{p.vp} (interleaved stages) needs pipeline parallelism (PP > 1)")
    if p.vp > 1 and job.grad_accumulation % p.pp:
        raise ExportError(
            f"interleaved pipelining needs the {job.grad_accumulation} micro-batches per step "
            f"to be a multiple of PP{p.pp}"
        )


def require_vendor(framework: str, job: ExportJob, vendors: tuple[str, ...]) -> None:
    """Each framework targets some vendors' chips (the issue's table)."""
    if job.chip.vendor not in vendors:
        raise CannotExpressError(
            framework,
            [f"it runs on {', '.join(vendors)} chips, not {job.chip.vendor} ({job.chip.id})"],
            of_plan=False,
        )


_Entry = TypeVar("_Entry")


def require_model(framework: str, job: ExportJob, table: Mapping[str, _Entry], what: str) -> _Entry:
    """The framework's own entry (`what`: a model config, a flavour) for the job's catalog
    model; a model it has none of the same shape for cannot be exported."""
    entry = table.get(job.model.id)
    if entry is None:
        known = ", ".join(sorted(table))
        raise CannotExpressError(
            framework,
            [f"{what} with the shape of {job.model.id} ({framework} has: {known})"],
            of_plan=False,
        )
    return entry


def hsdp_shard(job: ExportJob) -> int:
    """Data-parallel ranks that share one ZeRO shard group under HSDP: those inside one
    scale-up domain (the engine's HSDP, `perf.estimate`), at least 1 and dividing DP."""
    p = job.plan
    domain = min(job.chip.scale_up_domain or job.chips_per_node, job.n_chips)
    shard = max(1, domain // (p.tp * p.cp))
    while p.dp % shard:
        shard -= 1
    return shard


def stage_layers(layers: int, pp: int, vp: int) -> list[int]:
    """Layers per virtual stage, `pp * vp` of them: an even split when it divides, else the
    first and last stages take the remainder evenly (Megatron's uneven first/last split)."""
    stages = pp * vp
    if layers % stages == 0:
        return [layers // stages] * stages
    if vp > 1 or pp < 3:
        return []
    middle = -(-layers // pp)
    rest = layers - middle * (pp - 2)
    if rest < 2:
        return []
    return [rest // 2] + [middle] * (pp - 2) + [rest - rest // 2]


def header(job: ExportJob, framework: str, comment: str) -> list[str]:
    """The comment block every file opens with: what it is and what the user must still set."""
    p = job.plan
    lines = [
        f"{framework} configuration written by `chipswitch export`",
        f"model {job.model.id} on {job.n_chips} x {job.chip.id}; plan {p.describe()}",
        f"global batch {job.global_batch} x {job.seq_len} tokens, {job.precision}; "
        f"{job.grad_accumulation} micro-batch(es) of {p.micro_batch} per DP rank and step",
        "Values marked PLACEHOLDER are not decided by the plan: set them before launch.",
    ]
    return [f"{comment} {line}" for line in lines]


def yaml_config(
    framework: str,
    title: str,
    job: ExportJob,
    *,
    filename: str,
    comments: list[str],
    placeholders: dict[str, str],
    body: dict[str, object],
    notes: tuple[str, ...],
) -> ExportedConfig:
    """A YAML run configuration: `header`, the `comments` (each already prefixed with "# "),
    the placeholder list, then `body`."""
    import yaml

    lines = header(job, title, "#") + comments
    lines += [f"#   {key}: {meaning}" for key, meaning in placeholders.items()]
    lines.append(yaml.safe_dump(body, sort_keys=False, width=100))
    return ExportedConfig(
        framework=framework,
        filename=filename,
        media_type="application/yaml",
        text="\n".join(lines),
        plan=job.plan,
        placeholders=tuple(Placeholder(k, v) for k, v in placeholders.items()),
        notes=notes,
    )
