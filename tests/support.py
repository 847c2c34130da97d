"""Test helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chipswitch.calibrate.profile import Environment
from chipswitch.cli.app import COMMANDS, load_command

#: Test chips cite this source; `write_catalog_dir` registers it.
SOURCE = "my_bench"

_VENDOR_BASES: dict[str, dict[str, Any]] = {
    # an H100-like accelerator
    "nvidia": {
        "family": "nvidia-hopper",
        "release_year": 2025,
        "peak_bf16_dense_tflops": 1000,
        "peak_fp8_dense_tflops": 2000,
        "hbm_capacity_gb": 100,
        "hbm_bandwidth_tb_per_s": 4,
        "tdp_w": 800,
        "scale_up": ("NVLink", 900),
        "scale_up_domain_chips": 8,
        "chips_per_node": 8,
    },
    # an MI450-like accelerator with no published TDP
    "amd": {
        "family": "amd-cdna",
        "release_year": 2026,
        "peak_bf16_dense_tflops": 3000,
        "peak_fp8_dense_tflops": 6000,
        "hbm_capacity_gb": 432,
        "hbm_bandwidth_tb_per_s": 19.6,
        "tdp_w": None,
        "scale_up": ("UALink", 3600),
        "scale_up_domain_chips": 72,
        "chips_per_node": 4,
    },
}


def chip_data(chip_id: str, kind: str = "nvidia", **changes: Any) -> dict[str, Any]:
    """A valid chip file like `kind`'s (a key of `_VENDOR_BASES`), `changes` applied last."""
    base = _VENDOR_BASES[kind]
    vendor = kind
    src = [SOURCE]

    def sourced(value: Any) -> dict[str, Any]:
        if value is None:
            return {"value": None, "source": [], "note": "not published yet"}
        return {"value": value, "source": src}

    name, bandwidth = base["scale_up"]
    data: dict[str, Any] = {
        "id": chip_id,
        "name": f"Test chip {chip_id}",
        "vendor": vendor,
        "family": base["family"],
        **{
            key: sourced(base[key])
            for key in (
                "release_year",
                "peak_bf16_dense_tflops",
                "peak_fp8_dense_tflops",
                "hbm_capacity_gb",
                "hbm_bandwidth_tb_per_s",
                "tdp_w",
            )
        },
        "scale_up": {
            "name": name,
            "bandwidth_gb_per_s": bandwidth,
            "direction": "bidirectional_total",
            "source": src,
        },
        "scale_up_domain_chips": sourced(base["scale_up_domain_chips"]),
        "chips_per_node": sourced(base["chips_per_node"]),
        "scale_out_per_node_gbit_per_s": sourced(3200),
    }
    data.update(changes)
    return data


def write_catalog_dir(
    root: Path, chips: dict[str, Any] | None = None, raw: str | None = None
) -> Path:
    """A user catalog directory with a source registry, the given chip files (file stem ->
    data) and, with `raw`, a chip file `broken.yaml` of that text."""
    (root / "chips").mkdir(parents=True, exist_ok=True)
    (root / "sources.yaml").write_text(
        yaml.safe_dump({SOURCE: {"title": "My lab's datasheet", "type": "test"}})
    )
    for name, data in (chips or {}).items():
        (root / "chips" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if raw is not None:
        (root / "chips" / "broken.yaml").write_text(raw)
    return root


def environment(
    device: str = "cuda",
    name: str = "NVIDIA H100 80GB HBM3",
    command: str = "chipswitch calibrate --device cuda",
    memory_bytes: float | None = 80e9,
) -> Environment:
    """A synthetic calibration profile's environment (no real device was timed)."""
    return Environment(
        device=device,  # type: ignore[arg-type]
        device_name=name,
        device_count=1,
        device_memory_bytes=memory_bytes,
        torch_version="2.13.0",
        python_version="3.11",
        cpu_model="test CPU",
        cpu_threads=2,
        host_memory_bytes=64e9,
        platform="test",
        chipswitch_version="0.1.0",
        date="2026-11-27T00:00:00+00:00",
        command=command,
        timing="synthetic",
    )


def every_command() -> list[list[str]]:
    """Every command line entry point: each command of the root, each subcommand of a group,
    as argv."""
    out = []
    for name in COMMANDS:
        cmd = load_command(name)
        subs = getattr(cmd, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out
