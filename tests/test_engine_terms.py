"""Engine v2 terms: host launch time, software stacks, sequence parallelism from the data,
spec-based chips and the MFU plausibility limit."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from chipswitch.catalog import DATA_DIR, load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import ChipswitchError
from chipswitch.parallel.plan import Plan, PlanArrays
from chipswitch.perf.compute import attention_time, quantisation
from chipswitch.perf.efficiency import load_calibration
from chipswitch.perf.estimate import estimate
from chipswitch.perf.software import load_software, software_names
from chipswitch.perf.system import build_system
from chipswitch.perf.workload import LayerDims, Workload
from chipswitch.planning import search as search_mod
from chipswitch.planning.search import mfu_limit, search
from chipswitch.validation.fit import free_parameters
from chipswitch.validation.validate import read_rows, row_case

CAT = load_catalog()
RUN = CliRunner()
SMALL = CAT.model("llama3.2-1b") if "llama3.2-1b" in CAT.models else CAT.model("llama3.1-8b")


def _step(w: Workload, chip: str, n: int, plan: Plan, **eff: float) -> float:
    sys = build_system(CAT.chip(chip), n, peers=CAT.chips.values())
    if eff:
        sys = replace(sys, eff=sys.eff.with_(**eff))
    return float(estimate(w, sys, PlanArrays.from_plans([plan])).step_time[0])


def test_every_validation_row_names_a_known_stack_and_sp() -> None:
    known = set(software_names())
    for name in ("public.csv", "vtrain_a100_single_node.csv"):
        for row in read_rows(DATA_DIR / "validation" / name):
            assert row["software"] in known, row["id"]
            assert row["sp"] in ("true", "false"), row["id"]
            if int(row["tp"] or 1) == 1:
                assert row["sp"] == "false", row["id"]


def test_sp_column_reaches_the_plan() -> None:
    rows = read_rows(DATA_DIR / "validation" / "vtrain_a100_single_node.csv")
    row = next(r for r in rows if r["tp"] == "4")
    case = row_case(row, CAT)
    assert all(not p.sequence_parallel for p in case.plans)
    assert case.software == "megatron-deepspeed"
    on = row_case({**row, "sp": "true"}, CAT)
    assert all(p.sequence_parallel for p in on.plans)


def test_unknown_software_is_a_typed_error() -> None:
    with pytest.raises(ChipswitchError, match=r"unknown software 'jax-eager'.*maxtext"):
        Workload(SMALL, 8, 2048, software="jax-eager")


def test_host_bound_step_grows_with_launch_cost_only_when_eager() -> None:
    """Tiny micro-batches are host-bound on an eager stack: a dearer launch makes the step
    slower; a compiled stack does not launch from the host at all."""
    plan = Plan(tp=1, dp=8, micro_batch=1, zero=1, recompute="none")
    eager = Workload(SMALL, 8, 256, software="torchtitan-eager")
    compiled = Workload(SMALL, 8, 256, software="maxtext")
    a = _step(eager, "h100-sxm", 8, plan, launch_overhead=10e-6)
    b = _step(eager, "h100-sxm", 8, plan, launch_overhead=80e-6)
    assert b > a
    c = _step(compiled, "h100-sxm", 8, plan, launch_overhead=10e-6)
    d = _step(compiled, "h100-sxm", 8, plan, launch_overhead=80e-6)
    assert c == pytest.approx(d)


def test_host_time_is_hidden_behind_large_micro_batches() -> None:
    """Host and device overlap: for a large model and long sequences the launch cost does
    not show in the step at all."""
    w = Workload(CAT.model("llama3.1-70b"), 64, 8192, software="megatron-core")
    plan = Plan(tp=8, pp=1, dp=8, micro_batch=1, zero=3, recompute="full")
    sys = build_system(CAT.chip("h100-sxm"), 64, peers=CAT.chips.values())
    b = estimate(w, sys, PlanArrays.from_plans([plan]))
    assert b.host_total[0] > 0 and b.host_exposed[0] == 0.0


def test_blocking_tp_collectives_cost_more_than_overlapped() -> None:
    plan = Plan(tp=8, dp=1, micro_batch=1, zero=1, recompute="none", sequence_parallel=True)
    blocking = Workload(SMALL, 8, 4096, software="torchtitan-eager")
    overlapped = Workload(SMALL, 8, 4096, software="nemo")
    sys = build_system(CAT.chip("h100-sxm"), 8, peers=CAT.chips.values())
    arrays = PlanArrays.from_plans([plan])
    tb = estimate(blocking, sys, arrays)
    to = estimate(overlapped, sys, arrays)
    assert tb.tp_exposed[0] == pytest.approx(tb.tp_total[0])
    assert to.tp_exposed[0] < tb.tp_exposed[0]


def test_unfused_attention_is_slower_than_flash() -> None:
    plan = Plan(tp=1, dp=8, micro_batch=1, zero=1, recompute="none")
    flash = Workload(SMALL, 8, 4096, software="megatron-core")
    unfused = Workload(SMALL, 8, 4096, software="megatron-lm")
    assert _step(unfused, "a100-80gb", 8, plan) > _step(flash, "a100-80gb", 8, plan)


def test_ampere_era_attention_kernel_is_slower_on_hopper_only() -> None:
    """FlashAttention-2/Triton kernels (mma.sync) reach legacy_attention_fraction of the
    fitted attention rate on a Hopper (FlashAttention-3, Shah et al. 2024); on an A100 they
    are the native kernels. Same stack traits otherwise: llm-foundry vs a copy with the flag
    cleared."""
    plan = PlanArrays.from_plans([Plan(tp=1, dp=8, micro_batch=1, zero=1, recompute="none")])
    legacy = Workload(SMALL, 8, 8192, software="llm-foundry")
    sw = load_software().get("llm-foundry")
    assert sw.legacy_attention_kernel
    native = replace(sw, legacy_attention_kernel=False)
    for chip, ratio in (("h100-sxm", 1.0 / 0.571), ("a100-80gb", 1.0)):
        sys = build_system(CAT.chip(chip), 8, peers=CAT.chips.values())
        slow = estimate(legacy, sys, plan).compute_attention[0]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("chipswitch.perf.estimate.software_for", lambda w, s: native)
            fast = estimate(legacy, sys, plan).compute_attention[0]
        assert slow / fast == pytest.approx(ratio, rel=1e-9), chip


def test_torchtitan_selective_recompute_reruns_half_the_gemms() -> None:
    """torchtitan's selective checkpointing re-runs every second matmul; a plain eager loop
    (pytorch-eager, chipswitch calibrate's) re-runs only the norms and activations."""
    sys = build_system(CAT.chip("h100-sxm"), 8, peers=CAT.chips.values())
    plans = PlanArrays.from_plans(
        [Plan(dp=8, micro_batch=1, zero=1, recompute=r) for r in ("none", "selective")]
    )
    out = {}
    for stack in ("pytorch-eager", "torchtitan-eager"):
        out[stack] = estimate(Workload(SMALL, 8, 4096, software=stack), sys, plans)
    plain, titan = out["pytorch-eager"], out["torchtitan-eager"]
    assert plain.recompute[1] == pytest.approx(plain.compute_memory_bound[1] / 3, rel=1e-9)
    gemm_fwd = titan.compute_matmul[1] / 3  # forward + 2x backward
    assert titan.recompute[1] == pytest.approx(plain.recompute[1] + 0.5 * gemm_fwd, rel=1e-9)
    assert titan.step_time[1] > plain.step_time[1]
    assert titan.recompute[0] == plain.recompute[0] == 0.0
    args = ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "8", "-b", "64", "-s", "4096"]
    res = RUN.invoke(app, [*args, "--software", "pytorch-eager", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["software"] == "pytorch-eager"


def test_default_stack_follows_the_vendor() -> None:
    table = load_software()
    assert table.get(None, "google").name == "maxtext"
    assert table.get(None, "aws").name == "neuronx-distributed"
    assert table.get(None, "nvidia").name == "megatron-core"


@pytest.mark.parametrize("chip", ["mi300x", "mi355x", "gaudi3"])
def test_spec_based_chip_never_beats_measured_vendors(chip: str) -> None:
    """A vendor with no measured row is never predicted more efficient than the median of the
    measured chip families' efficiencies on the same plan; the output says it is spec-based."""
    w = Workload(CAT.model("llama3.1-70b"), 512, 8192)
    sys = build_system(CAT.chip(chip), 1024, peers=CAT.chips.values())
    assert sys.references and any("spec-based" in a for a in sys.assumptions)
    plans = PlanArrays.from_plans(
        [
            Plan(tp=8, pp=4, dp=32, micro_batch=1, zero=1, recompute="selective"),
            Plan(tp=4, pp=8, dp=32, micro_batch=1, zero=1, recompute="full", vp=2),
            Plan(tp=8, pp=1, dp=128, micro_batch=1, zero=3, recompute="full"),
        ]
    )
    capped = estimate(w, sys, plans)
    refs = np.stack(
        [estimate(w, replace(sys, eff=e, references=()), plans).mfu for e in sys.references]
    )
    assert np.all(capped.mfu <= np.median(refs, axis=0) * (1 + 1e-9))


# The Compare page's question (issue 13): Llama 3.1 70B on 1,024 chips, and Llama 3.1 405B.
# The TPU cases were predicted at MFU 0.72-0.77 before the megacore split (TPU v4, v5p) and the
# refit it allowed; every chip now stays at or under the limit.
PLAUSIBLE = [
    ("llama3.1-70b", chip, 1024, 512, 8192)
    for chip in ("h100-sxm", "b200", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu7x", "trn2",
                 "mi300x")
] + [("llama3.1-405b", "tpu-v5p", 4096, 1024, 8192)]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("model", "chip", "n", "gb", "seq"), PLAUSIBLE)
def test_best_plan_mfu_is_plausible(model: str, chip: str, n: int, gb: int, seq: int) -> None:
    """MFU above 0.70 fails unless a published run of the chip's family reaches it."""
    c = CAT.chip(chip)
    r = search(Workload(CAT.model(model), gb, seq), c, n, catalog=CAT, top=1)
    assert r.best.breakdown["mfu"] <= mfu_limit(c.family), (chip, r.best.breakdown["mfu"])


def test_mfu_warning_in_plan_output(monkeypatch: pytest.MonkeyPatch) -> None:
    cal = load_calibration()
    assert cal.meta.get("max_measured_mfu"), "fit_calibration.py stores the highest measured MFU"
    args = ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "8", "-b", "64", "-s", "4096"]
    res = RUN.invoke(app, [*args, "--software", "nemo", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["warnings"] == []
    monkeypatch.setattr(search_mod, "mfu_limit", lambda family: 0.05)
    res = RUN.invoke(app, [*args, "--software", "nemo", "--json"])
    (warning,) = json.loads(res.stdout)["warnings"]
    assert "above 0.05" in warning


def test_plan_software_option_rejects_unknown_stack() -> None:
    res = RUN.invoke(
        app,
        ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "8", "-b", "64", "-s", "4096",
         "--software", "nope"],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "unknown software 'nope'" in res.output


# --- expert-parallel all-to-all overlap (software.yaml `ep_overlap`) -------------------------
QWEN_MOE = Workload(CAT.model("qwen3-235b-a22b"), 512, 4096)
# EP32 with TP2 spans 8 eight-GPU nodes: the all-to-all crosses InfiniBand
EP_PLAN = Plan(tp=2, pp=8, vp=4, dp=16, ep=32, micro_batch=1, zero=1, sequence_parallel=True)


def _moe(plan: Plan, software: str) -> dict[str, float]:
    sys = build_system(CAT.chip("h100-sxm"), 256, peers=CAT.chips.values())
    b = estimate(replace(QWEN_MOE, software=software), sys, PlanArrays.from_plans([plan]))
    return {k: float(np.asarray(v)[0]) for k, v in b.__dict__.items()}


def test_ep_overlap_hides_all_to_all_behind_another_micro_batch() -> None:
    plain, over = _moe(EP_PLAN, "megatron-core"), _moe(EP_PLAN, "megatron-core-ep-overlap")
    assert plain["ep_exposed"] == pytest.approx(plain["ep_total"])  # Megatron-Core's default
    assert over["ep_total"] == pytest.approx(plain["ep_total"])  # the same traffic
    hidden = over["ep_total"] - over["ep_exposed"]
    assert 0 < hidden < over["ep_total"]
    # one micro-batch's worth has no partner; the hidden part pays the overlap slowdown
    m = over["micro_batches"]
    assert over["ep_exposed"] >= over["ep_total"] / m * (1 - 1e-9)
    s = load_calibration().families["nvidia-hopper"].overlap_slowdown
    extra = over["overlap_slowdown"] - plain["overlap_slowdown"]
    assert extra == pytest.approx(s * hidden, rel=0.05)
    assert over["step_time"] < plain["step_time"]


@pytest.mark.parametrize(
    "plan",
    [
        replace(EP_PLAN, vp=1),  # Megatron-Core pairs micro-batches only when interleaved
        Plan(tp=2, pp=1, dp=128, ep=32, micro_batch=4, zero=1, sequence_parallel=True),  # m=1
    ],
)
def test_ep_overlap_needs_a_partner_micro_batch(plan: Plan) -> None:
    over = _moe(plan, "megatron-core-ep-overlap")
    assert over["ep_total"] > 0
    assert over["ep_exposed"] == pytest.approx(over["ep_total"])


@pytest.mark.parametrize("software", ["megatron-core", "megatron-core-ep-overlap", "maxtext"])
def test_breakdown_time_terms_add_up_to_the_step(software: str) -> None:
    """The terms `plan` shows (presenters.BREAKDOWN_TIME) are the whole step, no more."""
    from chipswitch.api.presenters import BREAKDOWN_TIME

    b = _moe(EP_PLAN, software)
    assert sum(b[k] for k, _ in BREAKDOWN_TIME) == pytest.approx(b["step_time"], rel=1e-9)


def test_plan_with_the_ep_overlap_stack_as_a_user_runs_it() -> None:
    """`plan --software megatron-core-ep-overlap --json`: the stack is named and every plan's
    breakdown has the exposed all-to-all beside the whole of it; the table prints its row."""
    args = ["plan", "-m", "mixtral-8x22b", "-H", "h100-sxm", "-n", "256", "-b", "512", "-s", "4096"]
    res = RUN.invoke(app, [*args, "--software", "megatron-core-ep-overlap", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["software"] == "megatron-core-ep-overlap"
    for p in doc["top"]:
        t = p["time_s"]
        assert 0.0 <= t["ep_exposed"] <= t["ep_total"]
    plain = json.loads(RUN.invoke(app, [*args, "--software", "megatron-core", "--json"]).stdout)
    assert plain["best"]["time_s"]["ep_exposed"] == pytest.approx(
        plain["best"]["time_s"]["ep_total"]
    )
    table = RUN.invoke(app, [*args, "--software", "megatron-core-ep-overlap"])
    assert table.exit_code == 0 and "EP all-to-all (exposed)" in table.output


# --- systolic matrix units and megacore (catalog `matrix_unit`, `megacore`) ----------------
def _attn(model_id: str, chip: str, **shape: int) -> float:
    m = CAT.model(model_id).model_copy(update=shape)
    sys = build_system(CAT.chip(chip), 256, peers=CAT.chips.values())
    t = attention_time(LayerDims.of(m, 8192), np.array([1.0]), 8192.0,
                       np.array([1.0]), np.array([1.0]), sys)  # fmt: skip
    return float(t[0])


def test_catalog_names_matrix_units_and_megacores_with_sources() -> None:
    tpus = ("tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e")
    assert [CAT.chip(c).matrix_unit for c in tpus] == [128, 128, 128, 256]
    assert [CAT.chip(c).megacore for c in tpus] == [2, 1, 2, 1]
    ironwood = CAT.chip("tpu7x")  # two TensorCores, one device or two: not published
    assert ironwood.matrix_unit is None and ironwood.megacore == 1
    assert {"matrix_unit", "megacore"} <= set(ironwood.unset)
    assert CAT.chip("h100-sxm").matrix_unit is None  # tensor cores: output tiles, not systolic


def test_head_narrower_than_the_systolic_array_runs_at_its_fill() -> None:
    # same attention widths (4096 = 32 x 128 = 16 x 256), different head width
    narrow = {"heads": 32, "kv_heads": 8, "head_dim": 128}
    wide = {"heads": 16, "kv_heads": 4, "head_dim": 256}
    v6e = _attn("llama3.1-8b", "tpu-v6e", **narrow) / _attn("llama3.1-8b", "tpu-v6e", **wide)
    assert v6e == pytest.approx(2.0)  # 128 of the 256 x 256 MXU's rows or columns
    for chip in ("tpu-v5e", "h100-sxm"):  # 128-wide arrays / tensor-core tiles: full
        ratio = _attn("llama3.1-8b", chip, **narrow) / _attn("llama3.1-8b", chip, **wide)
        assert ratio == pytest.approx(1.0), chip


def test_systolic_quantisation_blocks_the_weight_operand_not_the_rows() -> None:
    # k x n blocks of the array fill; the streamed rows m do not quantise
    assert float(quantisation(8, 4096, 1, None, 4096, systolic=256)) == pytest.approx(1.0)
    assert float(quantisation(8192, 128, 1, None, 4096, systolic=256)) == pytest.approx(0.5)
    assert float(quantisation(8192, 4096, 1, None, 384, systolic=256)) == pytest.approx(0.75)
    # output tiles (GPUs): the thin m is what quantises
    assert float(quantisation(8, 4096, 1, None, 4096)) == pytest.approx(8 / 128)


@pytest.mark.parametrize(("chip", "split"), [("tpu-v5p", True), ("tpu-v5e", False)])
def test_megacore_keeps_its_fraction_of_the_compute_rate(chip: str, split: bool) -> None:
    w = Workload(CAT.model("llama3.1-8b"), 256, 4096, software="maxtext")
    plans = PlanArrays.from_plans([Plan(tp=1, dp=64, micro_batch=4, zero=3, recompute="full")])
    sys = build_system(CAT.chip(chip), 64, peers=CAT.chips.values())
    one = estimate(w, replace(sys, eff=sys.eff.with_(megacore=1.0)), plans)
    low = estimate(w, replace(sys, eff=sys.eff.with_(megacore=0.8)), plans)
    for term in ("compute_matmul", "compute_attention"):
        ratio = float(getattr(low, term)[0]) / float(getattr(one, term)[0])
        # (the fixed launch cost per GEMM does not scale)
        assert ratio == pytest.approx(1 / 0.8 if split else 1.0, rel=1e-3), term
    assert float(low.compute_memory_bound[0]) == pytest.approx(float(one.compute_memory_bound[0]))


def test_megacore_is_fitted_only_against_single_core_rows_of_the_same_level() -> None:
    rows = [r for r in read_rows(DATA_DIR / "validation" / "public.csv") if "tpu" in r["id"]]
    cases = [row_case(r, CAT) for r in rows]
    v4 = [c for c in cases if c.chip_id == "tpu-v4"]
    v5e = [c for c in cases if c.chip_id == "tpu-v5e"]
    assert len(v4) >= 3 and len(v5e) >= 3 and all(c.megacore for c in v4)
    assert not any(c.megacore for c in v5e)
    assert "megacore" in free_parameters(v4 + v5e)
    # megacore rows alone: the split is confounded with the matmul fraction
    assert "megacore" not in free_parameters(v4)
    assert "megacore" not in free_parameters(v5e)  # nothing to split
    assert "megacore" not in free_parameters(v5e + v4[:2])  # fewer than MIN_ROWS
