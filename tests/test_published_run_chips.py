"""Chips that published runs used: H800 (DeepSeek-V3) and V100 32 GB (GPT-3), and which measured
family an unmeasured older generation borrows its efficiencies from."""

from __future__ import annotations

from chipswitch.catalog import load_catalog
from chipswitch.perf.efficiency import load_calibration
from chipswitch.perf.system import build_system

CAT = load_catalog()
TABLE = load_calibration()


def test_h800_is_an_h100_with_restricted_nvlink() -> None:
    h800, h100 = CAT.chip("h800"), CAT.chip("h100-sxm")
    assert h800.family == h100.family == "nvidia-hopper"
    assert h800.peak("bf16") == h100.peak("bf16") and h800.hbm_bytes == h100.hbm_bytes
    assert h800.scale_up_bandwidth == 200e9  # 400 GB/s both directions, all links
    assert h100.scale_up_bandwidth is not None and h800.scale_up_bandwidth < h100.scale_up_bandwidth


def test_v100_32gb_has_its_capacity_and_no_bf16() -> None:
    v = CAT.chip("v100-sxm2-32gb")
    assert v.hbm_bytes == 32e9 and v.family == "nvidia-volta"
    assert v.peak_flops["bf16"] is None and v.peak("bf16") == 125e12  # fp16 tensor peak


def test_v100_borrows_ampere_not_hopper_efficiencies() -> None:
    eff = build_system(CAT.chip("v100-sxm2-32gb"), 64, peers=CAT.chips.values()).eff
    assert eff.level == "vendor-nearest"
    assert eff.matmul == TABLE.families["nvidia-ampere"].matmul
    assert eff.matmul != TABLE.families["nvidia-hopper"].matmul


def test_newer_unmeasured_family_still_takes_the_newest() -> None:
    eff = build_system(CAT.chip("b200"), 64, peers=CAT.chips.values()).eff
    assert eff.level == "vendor-newest"
    assert eff.matmul == TABLE.families["nvidia-hopper"].matmul
