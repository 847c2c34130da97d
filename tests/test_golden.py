"""Golden step times of ten representative plans (A100, H100, TPU, Trainium; dense and MoE;
small and large), pinned to +-2%: a change to any term or to the fitted calibration shows up
here as a diff of figures. Regenerate after a deliberate change with
`python tests/test_golden.py` and review the printed figures."""

from __future__ import annotations

import pytest

from chipswitch.catalog import load_catalog
from chipswitch.parallel.plan import Plan
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import evaluate_plan

CAT = load_catalog()

# name: (model, chip, chips, workers per chip, global batch, seq, precision, software, plan)
CASES: dict[str, tuple[str, str, int, int, int, int, str, str, Plan]] = {
    "a100-llama3.1-8b-fsdp": (
        "llama3.1-8b", "a100-80gb", 8, 1, 64, 4096, "bf16", "torchtitan-eager",
        Plan(tp=1, dp=8, micro_batch=1, zero=3, recompute="selective"),
    ),
    "a100-gpt3-175b-3d": (
        "gpt3-175b", "a100-80gb", 1024, 1, 1536, 2048, "bf16", "megatron-lm",
        Plan(tp=8, pp=8, dp=16, micro_batch=1, zero=1, recompute="full", sequence_parallel=False),
    ),
    "h100-llama3.1-8b-dp": (
        "llama3.1-8b", "h100-sxm", 8, 1, 128, 8192, "bf16", "megatron-core",
        Plan(tp=1, dp=8, micro_batch=1, zero=1, recompute="none"),
    ),
    "h100-llama3.1-405b-4d": (
        "llama3.1-405b", "h100-sxm", 2048, 1, 1024, 8192, "bf16", "nemo",
        Plan(tp=8, pp=16, dp=16, vp=2, micro_batch=1, zero=1, recompute="selective"),
    ),
    "h100-llama3.1-70b-fp8": (
        "llama3.1-70b", "h100-sxm", 512, 1, 512, 8192, "fp8", "nemo",
        Plan(tp=4, pp=4, dp=32, micro_batch=1, zero=1, recompute="selective"),
    ),
    "h100-mixtral-8x7b-ep": (
        "mixtral-8x7b", "h100-sxm", 64, 1, 256, 4096, "bf16", "megatron-core",
        Plan(tp=2, pp=1, dp=32, ep=8, micro_batch=1, zero=1, recompute="selective"),
    ),
    "h100-deepseek-v3-ep": (
        "deepseek-v3", "h100-sxm", 1024, 1, 4096, 4096, "bf16", "megatron-core",
        Plan(tp=2, pp=8, dp=64, ep=64, micro_batch=1, zero=1, recompute="full"),
    ),
    "tpu-v5p-llama3.1-70b-fsdp": (
        "llama3.1-70b", "tpu-v5p", 512, 1, 512, 8192, "bf16", "maxtext",
        Plan(tp=1, dp=512, micro_batch=1, zero=3, recompute="full"),
    ),
    "tpu-v5e-llama2-7b-fsdp": (
        "llama2-7b", "tpu-v5e", 256, 1, 256, 2048, "bf16", "maxtext",
        Plan(tp=1, dp=256, micro_batch=1, zero=3, recompute="selective"),
    ),
    "trn1-llama3.1-70b-3d": (
        "llama3.1-70b", "trn1", 512, 2, 1024, 8192, "bf16", "neuronx-distributed",
        Plan(tp=32, pp=8, dp=4, micro_batch=1, zero=1, recompute="full"),
    ),
}  # fmt: skip

# seconds per optimizer step, from the engine and calibration of this commit
GOLDEN: dict[str, float] = {
    "a100-llama3.1-8b-fsdp": 9.64986,
    "a100-gpt3-175b-3d": 30.3548,
    "h100-llama3.1-8b-dp": 14.8096,
    "h100-llama3.1-405b-4d": 23.087,
    "h100-llama3.1-70b-fp8": 5.68955,
    "h100-mixtral-8x7b-ep": 3.53015,
    "h100-deepseek-v3-ep": 37.9114,
    "tpu-v5p-llama3.1-70b-fsdp": 18.2694,
    "tpu-v5e-llama2-7b-fsdp": 0.654453,
    "trn1-llama3.1-70b-3d": 255.819,
}


def step_time(name: str) -> float:
    model, chip, n, wpc, gb, seq, prec, software, plan = CASES[name]
    w = Workload(CAT.model(model), gb, seq, prec, software)  # type: ignore[arg-type]
    b, _ = evaluate_plan(w, CAT.chip(chip), n, plan, catalog=CAT, workers_per_chip=wpc)
    return float(b.step_time[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_step_time(name: str) -> None:
    assert step_time(name) == pytest.approx(GOLDEN[name], rel=0.02)


def test_every_case_is_pinned() -> None:
    assert set(GOLDEN) == set(CASES)


if __name__ == "__main__":
    for name in CASES:
        print(f'    "{name}": {step_time(name):.6g},')
