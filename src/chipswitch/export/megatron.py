"""Megatron-LM / Megatron-Core: a launch script with the `pretrain_gpt.py` argument list.

Flag names follow Megatron-LM's `megatron/training/arguments.py`; the mapping from plan terms
is in docs/export/megatron.md. Megatron places ranks tensor-innermost, then context, expert,
data and pipeline (its default `--rank-order tp-cp-ep-dp-pp`), the order the engine assumes
(Narayanan et al. 2021, section 3.3), so the degrees carry over unchanged.
"""

from __future__ import annotations

import shlex

from chipswitch.export.common import (
    CannotExpressError,
    ExportedConfig,
    ExportJob,
    Placeholder,
    header,
    hsdp_shard,
    require_vendor,
    stage_layers,
)

FRAMEWORK = "megatron"
VENDORS = ("nvidia", "amd")

#: Shell variable -> (Megatron flag it feeds, meaning). The script stops until each is set.
PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "DATA_PATH": ("--data-path", "prefix of the tokenized .bin/.idx training data"),
    "TOKENIZER_MODEL": ("--tokenizer-model", "Hugging Face tokenizer name or path"),
    "LR": ("--lr", "peak learning rate"),
    "TRAIN_ITERS": ("--train-iters", "number of optimizer steps"),
    "CHECKPOINT_DIR": ("--save, --load", "checkpoint directory"),
    "MASTER_ADDR": ("torchrun --master-addr", "address of node 0"),
    "NODE_RANK": ("torchrun --node-rank", "this node's index, 0..nodes-1"),
}


def _model_args(job: ExportJob) -> tuple[list[str], list[str]]:
    """Architecture flags from the catalog shape, and what Megatron cannot build."""
    m = job.model
    missing: list[str] = []
    a = [
        f"--num-layers {m.layers}",
        f"--hidden-size {m.hidden}",
        f"--ffn-hidden-size {m.ffn_hidden}",
        f"--num-attention-heads {m.heads}",
        f"--kv-channels {m.head_dim}",
        f"--seq-length {job.seq_len}",
        f"--max-position-embeddings {max(job.seq_len, m.max_position or 0)}",
    ]
    if m.mla is not None:
        a += [
            "--multi-latent-attention",
            f"--kv-lora-rank {m.mla.kv_lora_rank}",
            f"--qk-head-dim {m.mla.qk_nope_head_dim}",
            f"--qk-pos-emb-head-dim {m.mla.qk_rope_head_dim}",
            f"--v-head-dim {m.mla.v_head_dim}",
        ]
        if m.mla.q_lora_rank is not None:
            a.append(f"--q-lora-rank {m.mla.q_lora_rank}")
    elif m.kv_heads < m.heads:
        a += ["--group-query-attention", f"--num-query-groups {m.kv_heads}"]
    position = {"rope": "rope", "learned": "learned_absolute", "none": "none"}
    if m.position in position:
        a.append(f"--position-embedding-type {position[m.position]}")
    else:
        missing.append(f"{m.position} position encoding (Megatron has rope, learned, none)")
    if m.norm == "rmsnorm":
        a.append("--normalization RMSNorm")
    elif m.norm_bias:
        a.append("--normalization LayerNorm")
    else:
        missing.append("LayerNorm without a bias (Megatron's LayerNorm always has one)")
    if m.gated_mlp and m.activation in ("swiglu", "silu"):
        a.append("--swiglu")
    elif m.activation == "squared_relu" and not m.gated_mlp:
        a.append("--squared-relu")
    elif m.gated_mlp or m.activation != "gelu":
        gate = "gated " if m.gated_mlp else ""
        missing.append(f"{gate}{m.activation} MLP (Megatron flags: gelu, --swiglu, --squared-relu)")
    if not m.bias:
        a.append("--disable-bias-linear")
    if m.qk_norm:
        a.append("--qk-layernorm")
    if not m.tied_embeddings:
        a.append("--untie-embeddings-and-output-weights")
    if m.parallel_block:
        missing.append("parallel attention and MLP blocks (GPT-J/NeoX residual)")
    if m.sliding_window is not None:
        missing.append("sliding-window attention on a fraction of layers")
    if m.moe is not None:
        moe = m.moe
        a += [
            f"--num-experts {moe.experts}",
            f"--moe-router-topk {moe.top_k}",
            f"--moe-ffn-hidden-size {moe.expert_ffn_hidden}",
            "--moe-grouped-gemm",
            "--moe-token-dispatcher-type alltoall",
        ]
        if moe.shared_experts:
            width = moe.shared_experts * (moe.shared_expert_ffn_hidden or moe.expert_ffn_hidden)
            a.append(f"--moe-shared-expert-intermediate-size {width}")
        if moe.first_dense_layers or moe.layer_freq > 1:
            pattern = [
                int(
                    i >= moe.first_dense_layers
                    and (i - moe.first_dense_layers) % moe.layer_freq == 0
                )
                for i in range(m.layers)
            ]
            a.append(f"--moe-layer-freq {shlex.quote(_run_length(pattern))}")
        if moe.router_bias:  # aux-loss-free balancing biases sigmoid affinities
            # (DeepSeek-V3, arXiv:2412.19437, section 2.1.2, eqs. 13-16)
            a += ["--moe-router-score-function sigmoid", "--moe-router-enable-expert-bias"]
    return a, missing


def _run_length(pattern: list[int]) -> str:
    """A 0/1 layer pattern as Megatron's list expression: [0,0,0,1,1] -> '[0]*3+[1]*2'."""
    runs: list[tuple[int, int]] = []
    for v in pattern:
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1] + 1)
        else:
            runs.append((v, 1))
    return "+".join(f"[{v}]*{n}" for v, n in runs)


def _parallel_args(job: ExportJob) -> tuple[list[str], list[str]]:
    """Layout, batch, ZeRO and recompute flags from the plan, and what Megatron cannot do."""
    p, m = job.plan, job.model
    missing: list[str] = []
    a = [f"--tensor-model-parallel-size {p.tp}"]
    if p.tp > 1 and p.sequence_parallel:
        a.append("--sequence-parallel")
    if m.mla is None and m.kv_heads % p.tp and p.tp % m.kv_heads:
        missing.append(
            f"TP{p.tp} over {m.kv_heads} KV heads: one must divide the other (Megatron-Core "
            "replicates a KV head over TP ranks only when TP is a multiple of the groups)"
        )
    a.append(f"--pipeline-model-parallel-size {p.pp}")
    stages = stage_layers(m.layers, p.pp, p.vp)
    if not stages:
        missing.append(
            f"{m.layers} layers over PP{p.pp} x VP{p.vp} stages (uneven splits only without "
            "interleaving, via --decoder-first/last-pipeline-num-layers)"
        )
    elif len(set(stages)) > 1:
        a += [
            f"--decoder-first-pipeline-num-layers {stages[0]}",
            f"--decoder-last-pipeline-num-layers {stages[-1]}",
        ]
    elif p.vp > 1:
        a.append(f"--num-layers-per-virtual-pipeline-stage {stages[0]}")
    if job.ep_overlap and m.moe is not None and p.ep > 1 and (p.pp == 1 or p.vp > 1):
        # the all-to-all behind another micro-batch, as the engine predicted (Megatron-Core
        # 0.14+; with pp > 1 only in the interleaved schedule, where the engine assumes it)
        a += ["--overlap-moe-expert-parallel-comm", "--delay-wgrad-compute"]
    a += [
        f"--context-parallel-size {p.cp}",
        f"--expert-model-parallel-size {p.ep}",
        f"--micro-batch-size {p.micro_batch}",
        f"--global-batch-size {job.global_batch}",
    ]
    if p.zero == 1:
        a.append("--use-distributed-optimizer")
    elif p.zero in (2, 3):
        strategy = "optim_grads" if p.zero == 2 else "optim_grads_params"
        a += [
            "--use-megatron-fsdp",
            f"--data-parallel-sharding-strategy {strategy}",
            "--use-distributed-optimizer",
            "--no-gradient-accumulation-fusion",
            "--ckpt-format fsdp_dtensor",
        ]
    if p.hsdp:
        shard = hsdp_shard(job)
        a += [
            "--outer-dp-sharding-strategy no_shard",
            f"--num-distributed-optimizer-instances {p.dp // shard}",
        ]
    if p.recompute == "selective":
        a.append("--recompute-granularity selective")
    elif p.recompute == "full":
        a += ["--recompute-granularity full", "--recompute-method uniform",
              "--recompute-num-layers 1"]  # fmt: skip
    a.append("--bf16")
    if job.precision == "fp8":
        a += ["--fp8-format hybrid", "--transformer-impl transformer_engine"]
    return a, missing


def export(job: ExportJob) -> ExportedConfig:
    """The plan as a bash launch script for Megatron-LM's `pretrain_gpt.py`."""
    require_vendor(FRAMEWORK, job, VENDORS)
    model_args, missing = _model_args(job)
    if missing:
        raise CannotExpressError(FRAMEWORK, missing, of_plan=False)
    parallel_args, missing = _parallel_args(job)
    if missing:
        raise CannotExpressError(FRAMEWORK, missing)
    data_args = [
        '--data-path "$DATA_PATH"',
        "--tokenizer-type HuggingFaceTokenizer",
        '--tokenizer-model "$TOKENIZER_MODEL"',
        '--lr "$LR"',
        '--train-iters "$TRAIN_ITERS"',
        '--save "$CHECKPOINT_DIR"',
        '--load "$CHECKPOINT_DIR"',
    ]
    lines = ["#!/usr/bin/env bash", *header(job, "Megatron-LM pretrain_gpt.py", "#")]
    lines += [
        f"# The tokenizer sets the vocabulary; {job.model.id} has {job.model.vocab} entries.",
        "set -euo pipefail",
        "",
    ]
    for var, (flag, meaning) in PLACEHOLDERS.items():
        lines.append(f'{var}="${{{var}:?PLACEHOLDER: {meaning} ({flag})}}"')
    lines += ["", "MEGATRON_ARGS=("]
    for group, args in (("model", model_args), ("parallelism", parallel_args),
                        ("data and schedule", data_args)):  # fmt: skip
        lines.append(f"  # {group}")
        lines += [f"  {arg}" for arg in args]
    lines += [
        ")",
        "",
        f"torchrun --nproc-per-node {job.chips_per_node} --nnodes {job.nodes} "
        '--node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR" --master-port 6000 \\',
        '  pretrain_gpt.py "${MEGATRON_ARGS[@]}"',
        "",
    ]
    return ExportedConfig(
        framework=FRAMEWORK,
        filename=f"pretrain_{job.model.id}.sh",
        media_type="text/x-shellscript",
        text="\n".join(lines),
        plan=job.plan,
        placeholders=tuple(Placeholder(v, m) for v, (_, m) in PLACEHOLDERS.items()),
    )
