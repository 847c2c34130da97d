"""torchtitan: a job TOML for `torchtitan/train.py --job.config_file FILE`.

Written for torchtitan 0.2 (the releases whose `JobConfig` is read from TOML; 0.3 replaced the
TOML file with Python config registries). Section and key names are those of
`torchtitan/config/job_config.py`; the mapping from plan terms is in docs/export/torchtitan.md.

torchtitan builds a model from a registered name and flavour, not from free dimensions, so a
catalog model is exported only where a flavour has its shape (`FLAVOURS`; the check in
tests/test_export_frameworks.py builds each flavour with torchtitan itself and compares).
"""

from __future__ import annotations

import json

from chipswitch.export.common import (
    CannotExpressError,
    ExportedConfig,
    ExportJob,
    Placeholder,
    header,
    hsdp_shard,
    require_model,
    require_vendor,
)

FRAMEWORK = "torchtitan"
VENDORS = ("nvidia", "amd")

#: Catalog model id -> torchtitan (model.name, model.flavor) with the same shape.
FLAVOURS: dict[str, tuple[str, str]] = {
    "llama3-8b": ("llama3", "8B"),
    "llama3.1-8b": ("llama3", "8B"),
    "llama3-70b": ("llama3", "70B"),
    "llama3.1-70b": ("llama3", "70B"),
    "llama3.1-405b": ("llama3", "405B"),
    "qwen3-235b-a22b": ("qwen3", "235B-A22B"),
}

#: TOML key -> meaning of each field the plan does not decide.
PLACEHOLDERS: dict[str, str] = {
    "model.hf_assets_path": "directory of the Hugging Face tokenizer files",
    "training.dataset": "dataset name registered in torchtitan (or training.dataset_path)",
    "training.steps": "number of optimizer steps",
    "optimizer.lr": "peak learning rate",
    "lr_scheduler.warmup_steps": "warm-up steps",
    "checkpoint.folder": "checkpoint directory",
}
#: A marked string value: torchtitan stops at load when the path or dataset does not exist.
MARK = "PLACEHOLDER"

_Value = int | float | bool | str | list[str]


def pipeline_stage_layers(layers: int, stages: int) -> int | None:
    """`pipeline_parallel_layers_per_stage` that gives exactly `stages` stages, or None.

    torchtitan counts ceil((layers + first_less + last_less) / per_stage) stages
    (`torchtitan/distributed/pipeline_parallel.py`); both "less" weights are written as 0.
    """
    per = -(-layers // stages)
    return per if -(-layers // per) == stages else None


def _sections(job: ExportJob) -> tuple[dict[str, dict[str, _Value]], list[str]]:
    p, m = job.plan, job.model
    missing: list[str] = []
    name, flavour = FLAVOURS[m.id]
    par: dict[str, _Value] = {
        "tensor_parallel_degree": p.tp,
        "enable_async_tensor_parallel": False,
        "pipeline_parallel_degree": p.pp,
        "context_parallel_degree": p.cp,
        "expert_parallel_degree": p.ep,
    }
    if p.tp > 1 and not p.sequence_parallel:
        missing.append("tensor parallelism without sequence parallelism (always on in torchtitan)")
    if p.zero == 1:
        missing.append(
            "ZeRO-1 (optimizer-state sharding alone): torchtitan shards with FSDP2, which is "
            "ZeRO-2 (reshard_after_forward never) or ZeRO-3"
        )
    if p.zero == 0:
        par |= {"data_parallel_replicate_degree": p.dp, "data_parallel_shard_degree": 1}
    else:
        shard = hsdp_shard(job) if p.hsdp else p.dp
        par |= {
            "data_parallel_replicate_degree": p.dp // shard,
            "data_parallel_shard_degree": shard,
            "fsdp_reshard_after_forward": "never" if p.zero == 2 else "always",
        }
    if p.ep > 1 and (par["data_parallel_shard_degree"] * p.cp * p.tp) % p.ep:  # type: ignore[operator]
        missing.append(f"EP{p.ep} outside the FSDP x CP x TP ranks it borrows from")
    training: dict[str, _Value] = {
        "seq_len": job.seq_len,
        "global_batch_size": job.global_batch,
        "local_batch_size": p.micro_batch,
        "mixed_precision_param": "bfloat16",
        "dataset": f"{MARK}_dataset",
    }
    if p.pp > 1:
        per = pipeline_stage_layers(m.layers, p.pp * p.vp)
        if per is None:
            missing.append(f"{m.layers} layers in {p.pp * p.vp} pipeline stages")
        training["local_batch_size"] = job.global_batch // p.dp
        par |= {
            "pipeline_parallel_microbatch_size": p.micro_batch,
            "pipeline_parallel_schedule": "Interleaved1F1B" if p.vp > 1 else "1F1B",
            "pipeline_parallel_layers_per_stage": per or 0,
            "pipeline_parallel_first_stage_less_layers": 0,
            "pipeline_parallel_last_stage_less_layers": 0,
        }
    ac: dict[str, _Value] = {"mode": p.recompute}
    if p.recompute == "selective":
        ac["selective_ac_option"] = "op"
    model: dict[str, _Value] = {
        "name": name,
        "flavor": flavour,
        "hf_assets_path": f"./{MARK}_tokenizer",
    }
    sections: dict[str, dict[str, _Value]] = {
        "job": {"dump_folder": "./outputs", "description": f"{m.id} {p.describe()}"},
        "model": model,
        "training": training,
        "parallelism": par,
        "activation_checkpoint": ac,
        "compile": {"enable": False},
        "checkpoint": {"enable": True, "folder": f"{MARK}_checkpoints"},
    }
    if job.precision == "fp8":
        model["converters"] = ["quantize.linear.float8"]
        sections["quantize.linear.float8"] = {"recipe_name": "tensorwise"}
    return sections, missing


def _toml_value(v: _Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(v)  # a JSON string or list of strings is valid TOML


def export(job: ExportJob) -> ExportedConfig:
    """The plan as a torchtitan job TOML."""
    require_vendor(FRAMEWORK, job, VENDORS)
    require_model(FRAMEWORK, job, FLAVOURS, "a model flavour")
    sections, missing = _sections(job)
    if missing:
        raise CannotExpressError(FRAMEWORK, missing)
    lines = header(job, "torchtitan", "#")
    lines += [
        "# Launch: torchrun --nproc-per-node "
        f"{job.chips_per_node} --nnodes {job.nodes} -m torchtitan.train "
        "--job.config_file THIS_FILE",
        "# Replace the PLACEHOLDER strings; commented-out PLACEHOLDER numbers keep torchtitan's",
        "# defaults until you set them:",
    ]
    lines += [f"#   {key}: {meaning}" for key, meaning in PLACEHOLDERS.items()]
    unset = {"training": ["steps"], "optimizer": ["lr"], "lr_scheduler": ["warmup_steps"]}
    for name in [*sections, "optimizer", "lr_scheduler"]:
        lines += ["", f"[{name}]"]
        values = sections.get(name, {})
        lines += [f"{key} = {_toml_value(v)}" for key, v in values.items()]
        for key in unset.get(name, []):
            lines.append(f"# {key} = ...  # {MARK}: {PLACEHOLDERS[f'{name}.{key}']}")
    lines.append("")
    return ExportedConfig(
        framework=FRAMEWORK,
        filename=f"{job.model.id}.toml",
        media_type="application/toml",
        text="\n".join(lines),
        plan=job.plan,
        placeholders=tuple(Placeholder(k, v) for k, v in PLACEHOLDERS.items()),
    )
