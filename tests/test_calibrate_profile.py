"""Calibration profiles without PyTorch: the schema, profile -> efficiencies, the chip built
from a profile, the comparison arithmetic and `plan`/`validate --calibration`.

Profiles here are synthesised from the engine's own GEMM model with known parameters, so the
tests check that the fitting recovers them (the measured-hardware tests are in
test_calibrate_torch.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import environment
from typer.testing import CliRunner

from chipswitch.calibrate.agreement import (
    AMP_MEMORY_RATIO,
    FP32_MEMORY_RATIO,
    MeasureConfig,
    Measured,
    compare,
    predict,
    prediction_inputs,
    truncate,
)
from chipswitch.calibrate.apply import (
    LOCAL,
    calibrated_chip,
    chip_from_profile,
    efficiency_from_profile,
    match_chip_id,
    table_with_profile,
)
from chipswitch.calibrate.profile import (
    AttentionPoint,
    BandwidthPoint,
    CalibrationProfile,
    CollectivePoint,
    MatmulPoint,
    load_profile,
    save_profile,
)
from chipswitch.catalog import DATA_DIR, load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import ChipswitchError
from chipswitch.perf.compute import gemm_time
from chipswitch.perf.efficiency import Efficiency, load_calibration
from chipswitch.perf.system import build_system

CAT = load_catalog()
SHAPES = Path(__file__).resolve().parent.parent / "benchmarks" / "shapes"
RUN = CliRunner()
TRUE = Efficiency(matmul=0.7, memory=0.9, kernel_overhead=5e-6)


def synthetic_profile(
    device: str = "cuda", chip_id: str | None = "h100-sxm", eff: Efficiency = TRUE
) -> CalibrationProfile:
    """GEMM times from the engine's own model on the H100 with `eff`; copy at eff.memory."""
    chip = CAT.chip("h100-sxm")
    sys = build_system(chip, 1, eff=eff)
    prec = "bf16" if device == "cuda" else "fp32"
    pts = []
    for h in (1024, 4096, 8192):
        for t in (64, 512, 4096, 16384):
            for op, n, k in (("qkv", 1.5 * h, h), ("fc1", 7 * h, h), ("fc2", h, 3.5 * h)):
                s = float(gemm_time(t, n, k, sys, False))
                pts.append(
                    MatmulPoint(
                        op=op,  # type: ignore[arg-type]
                        hidden=h,
                        tokens=t,
                        m=t,
                        n=int(n),
                        k=int(k),
                        precision=prec,
                        seconds=s,
                        flops_per_s=2.0 * t * n * k / s,
                    )
                )
    bw = 3.35e12 * eff.memory
    att = AttentionPoint(
        batch=1,
        heads=32,
        kv_heads=8,
        head_dim=128,
        seq=8192,
        precision=prec,
        seconds=1.0,
        flops=0.4 * 989.4e12,
        flops_per_s=0.4 * 989.4e12,
    )
    return CalibrationProfile(
        environment=environment(
            device, "NVIDIA H100 80GB HBM3" if device == "cuda" else "test CPU"
        ),
        chip_id=chip_id,
        train_precision=prec,
        matmul=pts,
        memory=[BandwidthPoint(size_bytes=4e9, seconds=8e9 / bw, bytes_per_s=bw)],
        attention=[att],
    )


def test_profile_round_trips_and_rejects_unknown_keys(tmp_path: Path) -> None:
    prof = synthetic_profile()
    path = tmp_path / "p.json"
    save_profile(prof, path)
    assert load_profile(path) == prof
    raw = json.loads(path.read_text())
    raw["environment"]["devcie_name"] = "typo"
    path.write_text(json.dumps(raw))
    with pytest.raises(ChipswitchError, match="devcie_name"):
        load_profile(path)
    with pytest.raises(ChipswitchError, match="not JSON"):
        path.write_text("{")
        load_profile(path)
    with pytest.raises(ChipswitchError, match="No such file"):
        load_profile(tmp_path / "absent.json")


def test_efficiencies_recovered_from_a_synthetic_profile() -> None:
    """The large-GEMM rate gives matmul (a little under the true 0.7: the launch overhead
    still costs the large GEMMs a little), the copy gives memory, and the least-squares fit
    recovers the launch overhead."""
    chip = CAT.chip("h100-sxm")
    eff = efficiency_from_profile(synthetic_profile(), chip, Efficiency())
    assert eff.matmul == pytest.approx(0.7, rel=0.02)
    assert eff.memory == pytest.approx(0.9, rel=1e-9)
    assert eff.attention == pytest.approx(0.4, rel=1e-9)
    assert eff.kernel_overhead == pytest.approx(5e-6, rel=0.15)
    assert eff.level == "family" and eff.name.startswith("profile NVIDIA H100")
    # parameters the profile does not measure keep the base values
    assert eff.dp_overlap == Efficiency().dp_overlap
    assert eff.fp8_matmul == Efficiency().fp8_matmul


def test_collectives_set_the_scale_up_efficiency() -> None:
    chip = CAT.chip("h100-sxm")
    big = CollectivePoint(world_size=8, size_bytes=1e9, seconds=0.01, algbw=1e11, busbw=3.6e11)
    small = CollectivePoint(world_size=8, size_bytes=1e6, seconds=1e-4, algbw=1e10, busbw=1e10)
    prof = synthetic_profile().model_copy(update={"collectives": [small, big]})
    eff = efficiency_from_profile(prof, chip, Efficiency())
    assert chip.scale_up_bandwidth
    assert eff.collective_up == pytest.approx(3.6e11 / chip.scale_up_bandwidth)
    assert efficiency_from_profile(synthetic_profile(), chip, Efficiency()).collective_up == (
        Efficiency().collective_up
    )


def test_slower_measurements_give_lower_efficiencies() -> None:
    chip = CAT.chip("h100-sxm")
    fast = efficiency_from_profile(synthetic_profile(), chip, Efficiency())
    slow_true = TRUE.with_(matmul=0.5, kernel_overhead=20e-6)
    slow = efficiency_from_profile(synthetic_profile(eff=slow_true), chip, Efficiency())
    assert slow.matmul < fast.matmul
    assert slow.kernel_overhead > fast.kernel_overhead


def test_chip_from_profile_uses_measured_rates() -> None:
    prof = synthetic_profile(device="cpu", chip_id=None)
    chip = chip_from_profile(prof)
    assert chip.id == chip.vendor == chip.family == LOCAL
    assert chip.peak("bf16") == max(p.flops_per_s for p in prof.matmul_points("fp32"))
    assert chip.hbm_bandwidth == prof.memory[0].bytes_per_s
    assert chip.hbm_bytes == 80e9
    eff = efficiency_from_profile(prof, chip, Efficiency())
    assert eff.memory == pytest.approx(1.0)
    assert 0 < eff.matmul <= 1.0


def test_device_names_match_catalog_chips() -> None:
    assert match_chip_id("NVIDIA H100 80GB HBM3", CAT.chips) == "h100-sxm"
    assert match_chip_id("NVIDIA H100 PCIe", CAT.chips) == "h100-pcie"
    assert match_chip_id("NVIDIA H200", CAT.chips) == "h200"
    assert match_chip_id("NVIDIA A100-SXM4-40GB", CAT.chips) == "a100-40gb"
    assert match_chip_id("Intel(R) Xeon(R) Processor", CAT.chips) is None


def test_a_cpu_profile_cannot_calibrate_a_catalog_chip() -> None:
    """Its fractions have no datasheet behind them: the H100 keeps its family calibration."""
    prof = synthetic_profile(device="cpu", chip_id=None)
    table = load_calibration()
    chip, eff, notes = calibrated_chip(prof, CAT, "h100-sxm", table)
    assert chip.id == "h100-sxm"
    assert eff == table.for_chip("nvidia-hopper", "nvidia", "h100-sxm")
    assert any("not in the catalog" in n and "family calibration" in n for n in notes)
    chip, _, _ = calibrated_chip(prof, CAT, "local", load_calibration())
    assert chip.id == LOCAL


def test_profile_of_another_chip_is_noted() -> None:
    _, eff, notes = calibrated_chip(synthetic_profile(), CAT, "h200", load_calibration())
    assert any("measured on h100-sxm" in n and "h200" in n for n in notes)
    assert eff.matmul == pytest.approx(0.7, rel=0.02)


def test_table_with_profile_replaces_the_family() -> None:
    table, chip, notes = table_with_profile(synthetic_profile(), CAT, load_calibration())
    assert not notes
    assert chip.family == "nvidia-hopper"
    assert table.for_chip("nvidia-hopper", "nvidia").matmul == pytest.approx(0.7, rel=0.02)
    base = load_calibration()
    assert table.for_chip("nvidia-ampere", "nvidia") == base.for_chip("nvidia-ampere", "nvidia")
    # the fallback chain (newest measured family per vendor) survives the replacement
    assert table.for_chip("nvidia-blackwell", "nvidia", "b200").level == "vendor-newest"
    cpu = synthetic_profile(device="cpu", chip_id=None)
    same, _, notes = table_with_profile(cpu, CAT, base)
    assert same is base and "changes no prediction" in notes[0]


def test_fp32_adjustment_rescales_memory_and_memory_bound_time() -> None:
    shape = truncate(CAT.model("llama3.1-8b"), 1)
    cfg = MeasureConfig(shape, 1, 1024, "selective")
    chip = CAT.chip("h100-sxm")
    bf = predict(cfg, chip, None, "bf16", CAT)
    fp = predict(cfg, chip, None, "fp32", CAT)
    # both are rescaled from the engine's Megatron layout (2 + 4 + 12 B/parameter, bf16
    # activations): bf16 autocast by AMP_MEMORY_RATIO, fp32 by FP32_MEMORY_RATIO
    for k, r in FP32_MEMORY_RATIO.items():
        assert fp.memory_terms[k] == pytest.approx(bf.memory_terms[k] / AMP_MEMORY_RATIO[k] * r)
    n_params = bf.memory_terms["mem_weights"] / 4  # fp32 parameters under autocast
    state = sum(bf.memory_terms[k] for k in ("mem_weights", "mem_gradients", "mem_optimizer"))
    assert state == pytest.approx(16 * n_params)  # torch AMP + Adam: 16 B per parameter
    assert fp.time_terms["compute_memory_bound"] == pytest.approx(
        2 * bf.time_terms["compute_memory_bound"]
    )
    assert bf.step_time == bf.engine_step_time
    # one device, no communication: the terms add up to the step, adjusted or not
    for p in (bf, fp):
        assert sum(p.time_terms.values()) == pytest.approx(p.step_time)
    assert fp.adjustments and any("16 B/parameter" in a for a in bf.adjustments)
    # the compared memory leaves the framework buffers out
    assert bf.memory_bytes == pytest.approx(sum(bf.memory_terms.values()))
    assert bf.memory_bytes < bf.engine_memory_total - bf.framework_bytes  # 16 < 18 B/param


def test_compare_errors_are_predicted_over_measured() -> None:
    cfg = MeasureConfig(truncate(CAT.model("llama3.1-8b"), 1), 1, 512)
    pred = predict(cfg, CAT.chip("h100-sxm"), None, "bf16", CAT)
    meas = Measured(
        device="cuda",
        device_name="x",
        precision="bf16",
        params=1,
        step_times=(1.0,),
        step_time=pred.step_time * 2.0,
        tokens_per_s=cfg.tokens / (pred.step_time * 2.0),
        peak_memory_bytes=pred.memory_bytes / 2.0,
        memory_method="test",
        loss_first=1.0,
        loss_last=1.0,
        torch_version="x",
    )
    c = compare(cfg, meas, pred)
    assert c.errors["step_time"] == pytest.approx(-0.5)
    assert c.errors["tokens_per_s"] == pytest.approx(1.0)
    assert c.errors["memory"] == pytest.approx(1.0)
    assert c.as_dict()["config"]["layers"] == 1


def test_truncate_and_unsupported_shapes() -> None:
    s = truncate(CAT.model("llama3.1-8b"), 4)
    assert s.layers == 4 and s.id == "llama3.1-8b-4l" and s.reference is None
    with pytest.raises(ChipswitchError, match="exceeds"):
        truncate(CAT.model("llama3.1-8b"), 64)
    from chipswitch.calibrate.agreement import check_supported

    with pytest.raises(ChipswitchError, match="mixture-of-experts"):
        check_supported(CAT.model("mixtral-8x7b"))


def test_cpu_without_profile_asks_for_one() -> None:
    with pytest.raises(ChipswitchError, match="chipswitch calibrate --device cpu"):
        prediction_inputs(None, CAT, load_calibration(), None, "Intel(R) Xeon(R)", "cpu")
    chip, eff, _ = prediction_inputs(
        None, CAT, load_calibration(), None, "NVIDIA H100 80GB HBM3", "cuda"
    )
    assert chip.id == "h100-sxm" and eff is None


def test_plan_and_validate_use_the_profile(tmp_path: Path) -> None:
    """A profile measuring a slower H100 makes `plan` slower; `validate` changes the
    Hopper rows only."""
    slow = synthetic_profile(eff=TRUE.with_(matmul=0.4))
    path = tmp_path / "h100.json"
    save_profile(slow, path)
    args = ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "8", "-b", "64", "-s", "4096"]
    base = RUN.invoke(app, [*args, "--json"])
    cal = RUN.invoke(app, [*args, "--json", "--calibration", str(path)])
    assert base.exit_code == 0 and cal.exit_code == 0, cal.output
    b, c = json.loads(base.stdout), json.loads(cal.stdout)
    assert c["best"]["step_time_s"] > b["best"]["step_time_s"]
    assert c["calibration"]["name"].startswith("profile NVIDIA H100")
    # the time-vs-cost front over chip counts is searched with the profile as well
    tok = ["--tokens", "1e11", "--price", "aws-p5"]
    b2 = json.loads(RUN.invoke(app, [*args, *tok, "--json"]).stdout)
    c2 = json.loads(RUN.invoke(app, [*args, *tok, "--json", "--calibration", str(path)]).stdout)
    assert c2["pareto"] and b2["pareto"]
    assert c2["pareto"][0]["seconds"] > b2["pareto"][0]["seconds"]

    csv = DATA_DIR / "validation" / "public.csv"
    v0 = json.loads(RUN.invoke(app, ["validate", str(csv), "--json"]).stdout)
    res = RUN.invoke(app, ["validate", str(csv), "--json", "--calibration", str(path)])
    assert res.exit_code == 0, res.output
    v1 = json.loads(res.stdout)
    key = "predicted_tokens_per_s_per_chip"
    before = {r["id"]: r[key] for r in v0["rows"]}
    changed = {r["id"] for r in v1["rows"] if not np.isclose(r[key], before[r["id"]])}
    hopper = {r["id"] for r in v1["rows"] if r["accelerator"].lower().startswith(("h100", "h200"))}
    assert changed and changed <= hopper


def test_plan_for_the_local_device(tmp_path: Path) -> None:
    path = tmp_path / "cpu.json"
    save_profile(synthetic_profile(device="cpu", chip_id=None), path)
    res = RUN.invoke(
        app,
        ["--catalog", str(SHAPES), "plan", "-m", "tiny-llama-7m", "-H", "local", "-n", "1",
         "-b", "4", "-s", "256", "--json", "--calibration", str(path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["hardware"] == LOCAL
    # a CPU profile cannot lend its fractions to an H100: accepted, noted, family calibration
    args = ["plan", "-m", "llama3.1-8b", "-H", "h100", "-n", "8", "-b", "64", "-s", "4096"]
    other = RUN.invoke(app, [*args, "--json", "--calibration", str(path)])
    plain = RUN.invoke(app, [*args, "--json"])
    assert other.exit_code == 0, other.output
    assert "not in the catalog" in other.stderr and "family calibration" in other.stderr
    o, p = json.loads(other.stdout), json.loads(plain.stdout)
    assert o["calibration"] == p["calibration"]
    assert o["best"]["step_time_s"] == p["best"]["step_time_s"]
