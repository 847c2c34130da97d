"""MaxText: a YAML of overrides on MaxText's `base.yml` (`base_config: base.yml`).

Keys are those of MaxText's `configs/base.yml` (validated by its pydantic `MaxTextConfig`);
the mapping from plan terms is in docs/export/maxtext.md. A TPU slice is one scale-up domain
(ICI); slices talk over the data-centre network (DCN). Tensor, context and expert axes stay
on ICI; pipeline stages go over DCN when the slices divide into them; the rest of data
parallelism fills ICI first, then DCN.

MaxText shards data parallelism on `data` (replicas), `fsdp` (ZeRO-3) or `data` with
`shard_optimizer_over_data` (ZeRO-1); its `expert` axis also carries the batch of the dense
layers, so EP is taken out of the data-parallel degree.
"""

from __future__ import annotations

from chipswitch.export.common import (
    CannotExpressError,
    ExportedConfig,
    ExportJob,
    require_model,
    require_vendor,
    yaml_config,
)

FRAMEWORK = "maxtext"
VENDORS = ("google",)

#: Catalog model id -> MaxText `model_name` (a file in MaxText's configs/models/).
MODEL_NAMES: dict[str, str] = {
    "llama2-7b": "llama2-7b",
    "llama2-13b": "llama2-13b",
    "llama2-70b": "llama2-70b",
    "llama3-8b": "llama3-8b",
    "llama3-70b": "llama3-70b",
    "llama3.1-8b": "llama3.1-8b",
    "llama3.1-70b": "llama3.1-70b",
    "llama3.1-405b": "llama3.1-405b",
    "mixtral-8x7b": "mixtral-8x7b",
    "mixtral-8x22b": "mixtral-8x22b",
    "deepseek-v3": "deepseek3-671b",
    "qwen3-235b-a22b": "qwen3-235b-a22b",
    "gpt3-175b": "gpt3-175b",
}

#: Plan recompute -> MaxText remat_policy (none and selective are the nearest policies: MaxText
#: always rematerialises elementwise work; see docs/export/maxtext.md).
REMAT = {"none": "minimal_with_context", "selective": "minimal", "full": "full"}

PLACEHOLDERS: dict[str, str] = {
    "run_name": "name of this run",
    "base_output_directory": "output directory for checkpoints and logs (gs://...)",
    "dataset_type": "input pipeline (tfds, grain, hf)",
    "dataset_path": "training data location",
    "tokenizer_path": "tokenizer file or hub id",
    "steps": "number of optimizer steps",
    "learning_rate": "peak learning rate",
}
MARK = "PLACEHOLDER"

_MESH_AXES = ("data", "fsdp", "context", "tensor", "expert", "pipeline")


def _mesh(job: ExportJob) -> tuple[dict[str, int], list[str]]:
    """ICI and DCN degrees per MaxText axis, and what does not fit MaxText's mesh."""
    p = job.plan
    missing: list[str] = []
    slice_chips = min(job.chip.scale_up_domain or job.n_chips, job.n_chips)
    if job.n_chips % slice_chips:
        missing.append(f"{job.n_chips} chips in slices of {slice_chips} (ICI domain)")
        slice_chips = job.n_chips
    slices = job.n_chips // slice_chips
    if p.dp % p.ep:
        missing.append(f"EP{p.ep} across the context axis (MaxText's expert axis is in DP only)")
    if p.zero == 2:
        missing.append(
            "ZeRO-2: MaxText shards parameters too (fsdp, ZeRO-3) or only optimizer state "
            "(shard_optimizer_over_data, ZeRO-1)"
        )
    pp_dcn = p.pp if slices % p.pp == 0 else 1
    pp_ici = p.pp // pp_dcn
    in_slice = p.tp * p.cp * p.ep * pp_ici
    if slice_chips % in_slice:
        missing.append(
            f"TP x CP x EP x PP-in-slice = {in_slice} does not divide a slice of {slice_chips}"
        )
        in_slice = slice_chips
    dp_ici = slice_chips // in_slice
    dp_dcn = slices // pp_dcn
    if dp_ici * dp_dcn * p.ep != p.dp:
        missing.append(f"DP{p.dp} over {slices} slice(s) of {slice_chips} chips")
    dp_axis = "fsdp" if p.zero == 3 else "data"
    ici = dict.fromkeys(_MESH_AXES, 1) | {
        dp_axis: dp_ici, "context": p.cp, "tensor": p.tp, "expert": p.ep, "pipeline": pp_ici,
    }  # fmt: skip
    dcn_dp_axis = "data" if p.hsdp or p.zero != 3 else "fsdp"
    dcn = dict.fromkeys(_MESH_AXES, 1) | {dcn_dp_axis: dp_dcn, "pipeline": pp_dcn}
    mesh = {f"ici_{k}_parallelism": v for k, v in ici.items()}
    mesh |= {f"dcn_{k}_parallelism": v for k, v in dcn.items()}
    return mesh, missing


def _batch(job: ExportJob) -> tuple[dict[str, int | float | bool | str], list[str]]:
    """Per-device batch, accumulation, pipeline stages and remat from the plan."""
    p, m = job.plan, job.model
    missing: list[str] = []
    accum = job.grad_accumulation
    out: dict[str, int | float | bool | str] = {
        "max_target_length": job.seq_len,
        "remat_policy": REMAT[p.recompute],
        "dtype": "bfloat16",
    }
    if p.zero == 1:
        out["shard_optimizer_over_data"] = True
    if p.pp == 1:
        out["per_device_batch_size"] = job.global_batch / (job.n_chips * accum)
        out["gradient_accumulation_steps"] = accum
    else:
        # MaxText pipelines the whole step's batch: num_pipeline_microbatches = micro-batches
        out["per_device_batch_size"] = job.global_batch / job.n_chips
        out["gradient_accumulation_steps"] = 1
        if m.layers % (p.pp * p.vp):
            missing.append(f"{m.layers} layers in {p.pp} stages x {p.vp} repeats")
        if accum % p.pp:
            missing.append(f"{accum} pipeline micro-batches, not a multiple of PP{p.pp}")
        out |= {
            "num_layers_per_pipeline_stage": m.layers // (p.pp * p.vp),
            "num_pipeline_repeats": p.vp,
            "num_pipeline_microbatches": accum,
        }
    if job.precision == "fp8":
        out["quantization"] = "fp8"
    return out, missing


def export(job: ExportJob) -> ExportedConfig:
    """The plan as a MaxText YAML over base.yml."""
    require_vendor(FRAMEWORK, job, VENDORS)
    m, policy = job.model, REMAT[job.plan.recompute]
    name = require_model(FRAMEWORK, job, MODEL_NAMES, "a MaxText model config")
    mesh, missing = _mesh(job)
    batch, more = _batch(job)
    if missing + more:
        raise CannotExpressError(FRAMEWORK, missing + more)
    body: dict[str, object] = {
        "base_config": "base.yml",
        "model_name": name,
        "run_name": f"{MARK}_run_name",
        "base_output_directory": f"{MARK}_output_directory",
        "dataset_path": f"{MARK}_dataset_path",
        "tokenizer_path": f"{MARK}_tokenizer_path",
        **batch,
        **mesh,
    }
    return yaml_config(
        FRAMEWORK,
        "MaxText",
        job,
        filename=f"{m.id}.yml",
        comments=[
            "# Launch on each TPU VM: python3 -m maxtext.trainers.pre_train.train THIS_FILE",
            f"# remat_policy {policy} stands for recompute="
            f"{job.plan.recompute} (MaxText always recomputes elementwise work).",
            "# Unset PLACEHOLDER fields keep base.yml's values until you set them:",
        ],
        placeholders=PLACEHOLDERS,
        body=body,
        notes=(f"recompute={job.plan.recompute} written as remat_policy {policy}",),
    )
