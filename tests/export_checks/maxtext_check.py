"""Load exported MaxText YAML files with MaxText's own parser; print what it resolved as JSON.

Run by tests/test_export_frameworks.py under an interpreter that has MaxText (Python >= 3.12):
    python maxtext_check.py FILE TOPOLOGY SLICES [FILE TOPOLOGY SLICES ...]
`TOPOLOGY` (e.g. v5p-1024) and `SLICES` set MaxText's ahead-of-time target
(`compile_topology`, `compile_topology_num_slices`), so the device count is the exported job's
without TPUs; the ICI and DCN meshes are then completed and checked by MaxText's
`fill_unspecified_mesh_axes`, the function `create_device_mesh` calls.
"""

import json
import sys

from maxtext.configs import pyconfig
from maxtext.utils import max_utils

KEYS = (
    "model_name",
    "emb_dim",
    "num_query_heads",
    "num_kv_heads",
    "mlp_dim",
    "moe_mlp_dim",
    "num_decoder_layers",
    "head_dim",
    "vocab_size",
    "num_experts",
    "num_experts_per_tok",
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "global_batch_size_to_train_on",
    "remat_policy",
    "max_target_length",
    "shard_optimizer_over_data",
    "num_pipeline_microbatches",
    "num_pipeline_repeats",
    "num_layers_per_pipeline_stage",
    "num_target_devices",
    "num_slices",
)


def check(path: str, topology: str, slices: int) -> dict[str, object]:
    argv = [
        "train",
        path,
        f"compile_topology={topology}",
        f"compile_topology_num_slices={slices}",
        "skip_jax_distributed_system=True",
    ]
    cfg = pyconfig.initialize(argv)
    per_slice = cfg.num_target_devices // max(cfg.num_slices, 1)
    out: dict[str, object] = {k: getattr(cfg, k, None) for k in KEYS}
    out["mesh_axes"] = list(cfg.mesh_axes)
    out["ici"] = max_utils.fill_unspecified_mesh_axes(list(cfg.ici_parallelism), per_slice, "ICI")
    out["dcn"] = max_utils.fill_unspecified_mesh_axes(
        list(cfg.dcn_parallelism), cfg.num_slices, "DCN"
    )
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    results = {
        args[i]: check(args[i], args[i + 1], int(args[i + 2])) for i in range(0, len(args), 3)
    }
    print("MAXTEXT-CHECK " + json.dumps(results, default=str))
