"""NeuronX Distributed Training (NxDT): its YAML training config for Trainium.

Keys follow the NxDT "YAML Configuration Settings" page (AWS Neuron documentation,
libraries/nxd-training/general/config_overview) and AWS's example configs
(aws-neuron/neuronx-distributed-training, examples/conf/hf_llama3_70B_trn2_config.yaml);
`SCHEMA` below is that documented schema, and `schema_problems` checks a file against it,
since NxDT itself is not on PyPI for this platform. Mapping: docs/export/neuronx-distributed.md.

NxDT ranks are logical NeuronCores (`trainer.devices` per node, `trainer.lnc` physical cores
per logical one; LNC=2 is the default on Trn2 and Trn3, per the Neuron "Logical NeuronCore
configuration" guide). The engine plans per chip, so a chip's logical cores are folded into
tensor parallelism: TP in cores = plan TP x cores per chip, the layout of AWS's examples
(Llama-3 70B on Trn2: TP32 = 8 chips x 4 logical cores).
"""

from __future__ import annotations

from typing import Any

from chipswitch.export.common import (
    CannotExpressError,
    ExportedConfig,
    ExportJob,
    require_vendor,
    yaml_config,
)

FRAMEWORK = "neuronx-distributed"
VENDORS = ("aws",)

#: Physical NeuronCores per logical core, by chip id (Neuron docs, Logical NeuronCore config).
LNC: dict[str, int] = {"trn1": 1, "trn2": 2, "trn3": 2}

#: The documented schema: section -> {key: type(s)} that the exporter must write.
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {"name": (str,), "model_source": (str,), "seed": (int,)},
    "trainer": {
        "devices": (int,),
        "num_nodes": (int,),
        "max_steps": (int, str),
        "lnc": (int,),
    },
    "exp_manager": {"resume_if_exists": (bool,), "create_checkpoint_callback": (bool,)},
    "distributed_strategy": {
        "tensor_model_parallel_size": (int,),
        "context_parallel_size": (int,),
        "pipeline_model_parallel_size": (int,),
        "virtual_pipeline_model_parallel_size": (int,),
        "zero1": (bool,),
        "sequence_parallel": (bool,),
        "kv_replicator": (int,),
        "expert_model_parallel_size": (int,),
    },
    "data": {"micro_batch_size": (int,), "global_batch_size": (int,), "train_dir": (str,)},
    "model": {
        "model_config": (str,),
        "encoder_seq_length": (int,),
        "max_position_embeddings": (int,),
        "num_layers": (int,),
        "hidden_size": (int,),
        "activations_checkpoint_granularity": (str, type(None)),
    },
    "precision": {"type": (str,)},
}
GRANULARITY = ("selective", "full", None)
PRECISION_TYPES = ("bf16SR", "fp32", "autocast", "mixed_precision", "mixed_precisionSR", "manual")

#: NxDT model module (`name`) per catalog family with a Hugging Face implementation in NxDT.
MODEL_NAMES = {"llama2": "hf_llama", "llama3": "hf_llama", "mixtral": "hf_mixtral"}

PLACEHOLDERS: dict[str, str] = {
    "data.train_dir": "directory of the tokenized training data",
    "model.model_config": "Hugging Face config.json of the model",
    "model.optim.lr": "peak learning rate",
    "trainer.max_steps": "number of optimizer steps",
    "exp_manager.explicit_log_dir": "checkpoint and log directory",
}
MARK = "PLACEHOLDER"


def logical_cores(job: ExportJob) -> int:
    """Logical NeuronCores per chip: physical cores / LNC."""
    cores = job.chip.neuroncores_per_chip
    if cores is None:
        raise CannotExpressError(FRAMEWORK, [f"NeuronCores per chip of {job.chip.id} (unset)"])
    return cores // LNC.get(job.chip.id, 1)


def _config(job: ExportJob) -> tuple[dict[str, Any], list[str]]:
    p, m = job.plan, job.model
    missing: list[str] = []
    cores = logical_cores(job)
    tp = p.tp * cores
    name = MODEL_NAMES[m.family or ""]
    if m.heads % tp:
        missing.append(f"TP{tp} NeuronCores ({p.tp} chips x {cores}) over {m.heads} heads")
    if p.zero > 1:
        missing.append(f"ZeRO-{p.zero} (NxDT shards optimizer state only: zero1)")
    if p.hsdp:
        missing.append("HSDP")
    granularity = None if p.recompute == "none" else p.recompute
    nodes = job.nodes
    cfg: dict[str, Any] = {
        "name": name,
        "model_source": "hf",
        "seed": 1234,
        "trainer": {
            "devices": job.chips_per_node * cores,
            "lnc": LNC.get(job.chip.id, 1),
            "num_nodes": nodes,
            "max_steps": f"{MARK}_max_steps",
            "gradient_clip_val": 1.0,
        },
        "exp_manager": {
            "explicit_log_dir": f"{MARK}_log_dir",
            "resume_if_exists": True,
            "create_checkpoint_callback": True,
        },
        "distributed_strategy": {
            "tensor_model_parallel_size": tp,
            "context_parallel_size": p.cp,
            "pipeline_model_parallel_size": p.pp,
            "virtual_pipeline_model_parallel_size": p.vp,
            "zero1": p.zero == 1,
            "sequence_parallel": p.sequence_parallel or tp > 1,
            "kv_replicator": max(1, tp // m.kv_heads),
            "expert_model_parallel_size": p.ep,
        },
        "data": {
            "micro_batch_size": p.micro_batch,
            "global_batch_size": job.global_batch,
            "train_dir": f"{MARK}_train_dir",
        },
        "model": {
            "model_config": f"{MARK}_config.json",
            "encoder_seq_length": job.seq_len,
            "max_position_embeddings": job.seq_len,
            "num_layers": m.layers,
            "hidden_size": m.hidden,
            "activations_checkpoint_granularity": granularity,
            # ring attention carries context parallelism (AWS's hf_llama3_70B_CP example)
            "fusions": {"flash_attention": p.cp == 1, "ring_attention": p.cp > 1},
            "optim": {"name": "adamw", "lr": f"{MARK}_lr"},
        },
        "precision": {"type": "mixed_precision"},
    }
    if m.moe is not None:
        cfg["model"]["moe"] = {
            "num_experts": m.moe.experts,
            "top_k": m.moe.top_k,
            "frequency": m.moe.layer_freq,
        }
    return cfg, missing


def schema_problems(cfg: dict[str, Any]) -> list[str]:
    """What in `cfg` breaks the documented NxDT schema and its stated constraints."""
    problems: list[str] = []
    for section, keys in SCHEMA.items():
        block = cfg if not section else cfg.get(section)
        if not isinstance(block, dict):
            problems.append(f"missing section {section}")
            continue
        for key, types in keys.items():
            where = f"{section}.{key}" if section else key
            if key not in block:
                problems.append(f"missing {where}")
            elif not isinstance(block[key], types) or (
                isinstance(block[key], bool) and bool not in types
            ):
                problems.append(f"{where} is {type(block[key]).__name__}")
    if problems:
        return problems
    ds, tr, data, model = cfg["distributed_strategy"], cfg["trainer"], cfg["data"], cfg["model"]
    world = tr["devices"] * tr["num_nodes"]
    mp = (
        ds["tensor_model_parallel_size"]
        * ds["pipeline_model_parallel_size"]
        * ds["context_parallel_size"]
    )
    if world % mp:
        problems.append(f"devices x nodes = {world} is not a multiple of TP x PP x CP = {mp}")
    else:
        dp = world // mp
        if data["global_batch_size"] % (data["micro_batch_size"] * dp):
            problems.append("global_batch_size is not a multiple of micro_batch_size x DP")
        if (dp * ds["context_parallel_size"]) % ds["expert_model_parallel_size"]:
            problems.append("expert_model_parallel_size does not divide DP x CP")
    if model["num_layers"] % ds["pipeline_model_parallel_size"]:
        problems.append("num_layers is not a multiple of pipeline_model_parallel_size")
    if model["activations_checkpoint_granularity"] not in GRANULARITY:
        problems.append("activations_checkpoint_granularity is not selective, full or null")
    if cfg["precision"]["type"] not in PRECISION_TYPES:
        problems.append(f"precision.type {cfg['precision']['type']} is not documented")
    if ds["sequence_parallel"] and ds["tensor_model_parallel_size"] == 1:
        problems.append("sequence_parallel needs tensor parallelism")
    return problems


def export(job: ExportJob) -> ExportedConfig:
    """The plan as an NxDT training YAML."""
    require_vendor(FRAMEWORK, job, VENDORS)
    m = job.model
    job_missing = []
    if m.family not in MODEL_NAMES or m.mla is not None:
        job_missing.append(f"a Hugging Face model module for {m.id} (NxDT has Llama and Mixtral)")
    if job.precision == "fp8":
        job_missing.append("fp8 GEMMs (not a documented NxDT precision type)")
    if job_missing:
        raise CannotExpressError(FRAMEWORK, job_missing, of_plan=False)
    cfg, missing = _config(job)
    if job.model.layers % job.plan.pp:
        missing.append(f"{job.model.layers} layers over PP{job.plan.pp} (NxDT splits evenly)")
    if missing:
        raise CannotExpressError(FRAMEWORK, missing)
    cores = logical_cores(job)
    return yaml_config(
        FRAMEWORK,
        "NeuronX Distributed Training",
        job,
        filename=f"{job.model.id}_nxdt.yaml",
        comments=[
            f"# Ranks are logical NeuronCores: {cores} per {job.chip.id} chip; plan "
            f"TP{job.plan.tp} (chips) is TP{job.plan.tp * cores} (cores).",
            "# Launch with AWS's NxDT training script: train.sh --config-name THIS_FILE",
            "# PLACEHOLDER values to set:",
        ],
        placeholders=PLACEHOLDERS,
        body=cfg,
        notes=(f"TP{job.plan.tp} chips written as TP{job.plan.tp * cores} logical NeuronCores",),
    )
