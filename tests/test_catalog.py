"""The shipped catalog: coverage, SI units, sources, and errors for malformed user files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import chip_data, write_catalog_dir

from chipswitch import units
from chipswitch._schema import Sourced
from chipswitch._yaml import load_model
from chipswitch.catalog import DATA_DIR, ENV_VAR, Catalog, load_catalog
from chipswitch.catalog.files import ChipFile, InterconnectFile, OfferingFile
from chipswitch.errors import CatalogFileError, UnknownNameError

CHIP_FILES = sorted((DATA_DIR / "chips").glob("*.yaml"))
OFFERING_FILES = sorted((DATA_DIR / "offerings").glob("*.yaml"))


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def _sourced_items(model: Any) -> dict[str, Sourced[Any] | InterconnectFile]:
    """Every sourced value of a parsed chip or offering file, by key."""
    return {
        key: getattr(model, key)
        for key in type(model).model_fields
        if isinstance(getattr(model, key), Sourced | InterconnectFile)
    }


# -- coverage and SI units ----------------------------------------------------------------------
def test_catalog_covers_at_least_24_chips_from_5_vendors(cat: Catalog) -> None:
    assert len(cat.chips) >= 24
    assert len({c.vendor for c in cat.chips.values()}) >= 5


def test_h100_sxm_is_in_si_units(cat: Catalog) -> None:
    h100 = cat.chip("h100-sxm")
    assert h100.peak("bf16") == pytest.approx(989.4e12)
    assert h100.peak("fp8") == pytest.approx(1978.9e12)
    assert h100.hbm_bytes == pytest.approx(80e9)
    assert h100.hbm_bandwidth == pytest.approx(3.35e12)
    # NVLink 4: 900 GB/s bidirectional total -> 450 GB/s per direction.
    assert h100.scale_up_bandwidth == pytest.approx(450e9)
    assert h100.tdp_watts == pytest.approx(700.0)
    assert h100.scale_out_bandwidth_per_node == pytest.approx(3200e9 / 8)


def test_gib_and_gb_are_different_units(cat: Catalog) -> None:
    assert cat.chip("tpu-v4").hbm_bytes == 32 * units.GIB
    assert cat.chip("a100-80gb").hbm_bytes == 80 * units.GB


def test_v100_has_fp16_standing_in_for_bf16(cat: Catalog) -> None:
    v100 = cat.chip("v100-sxm2")
    assert v100.peak_flops["bf16"] is None
    assert v100.peak("bf16") == pytest.approx(125e12)


@pytest.mark.parametrize("path", CHIP_FILES, ids=lambda p: p.stem)
def test_every_chip_has_the_essentials(path: Path, cat: Catalog) -> None:
    cf = load_model(path, ChipFile)
    chip = cat.chip(cf.id)
    has_16bit = chip.peak_flops["bf16"] or (cf.id.startswith("v100") and chip.peak_flops["fp16"])
    assert has_16bit, f"{path.name}: no bf16 peak"
    assert 1e13 < chip.peak("bf16") < 1e16, f"{path.name}: bf16 peak out of range"
    assert 8e9 <= chip.hbm_bytes <= 1e12, f"{path.name}: HBM out of range"
    assert chip.hbm_bandwidth is None or 1e11 < chip.hbm_bandwidth < 5e13
    assert chip.tdp_watts is not None or cf.tdp_w.note, f"{path.name}: TDP unset without a note"
    assert chip.sources, f"{path.name}: no sources"


@pytest.mark.parametrize("path", CHIP_FILES, ids=lambda p: p.stem)
def test_every_chip_value_is_sourced_or_explained(path: Path, cat: Catalog) -> None:
    cf = load_model(path, ChipFile)
    for key, item in _sourced_items(cf).items():
        value = item.bandwidth_gb_per_s if isinstance(item, InterconnectFile) else item.value
        if value is None:
            assert item.note, f"{path.name}: {key} unset without a note"
        else:
            assert item.source, f"{path.name}: {key} has no source"
        missing = [s for s in item.source if s not in cat.sources]
        assert not missing, f"{path.name}: {key} cites unknown sources {missing}"


def test_check_references_passes_on_shipped_catalog_and_catches_a_dangling_id(
    cat: Catalog, tmp_path: Path
) -> None:
    assert cat.check_references() is None  # raises on the first dangling reference
    chip = chip_data("dangling-chip", peak_bf16_dense_tflops={"value": 1000, "source": ["nope"]})
    with pytest.raises(CatalogFileError, match=r"d\.yaml: unknown source ids: nope"):
        load_catalog([write_catalog_dir(tmp_path / "d", {"d": chip})])  # loading checks them


# -- offerings and prices ---------------------------------------------------------------------
def test_at_least_20_offerings_on_known_chips(cat: Catalog) -> None:
    assert len(cat.offerings) >= 20
    for off in cat.offerings.values():
        assert off.chip in cat.chips
        assert off.chips_per_instance >= 1


@pytest.mark.parametrize("path", OFFERING_FILES, ids=lambda p: p.stem)
def test_every_published_price_has_a_date_and_sources(path: Path, cat: Catalog) -> None:
    of = load_model(path, OfferingFile)
    for i, p in enumerate(of.prices):
        if p.usd_per_chip_hour is None and p.usd_per_instance_hour is None:
            assert p.note, f"{path.name}: prices[{i}] unset without a note"
            continue
        assert p.date, f"{path.name}: prices[{i}] has no date"
        assert p.source, f"{path.name}: prices[{i}] has no source"
        assert all(s in cat.sources for s in p.source)


def test_instance_prices_are_converted_per_chip_second(cat: Catalog) -> None:
    p5 = cat.offering("aws-p5")
    price = next(p for p in p5.prices if p.date and "2026-01-21" in p.date)
    assert price.usd_per_chip_second == pytest.approx(55.04 / 8 / 3600)
    assert price.usd_per_chip_hour == pytest.approx(6.88)


def test_most_chips_have_a_price(cat: Catalog) -> None:
    priced = {
        o.chip for o in cat.offerings.values() if any(p.usd_per_chip_second for p in o.prices)
    }
    assert len(priced) >= 12


# -- lookups ----------------------------------------------------------------------------------
def test_lookup_by_alias_is_case_insensitive(cat: Catalog) -> None:
    assert cat.chip("H100").id == "h100-sxm"


def test_unknown_chip_suggests_close_names(cat: Catalog) -> None:
    with pytest.raises(UnknownNameError) as info:
        cat.chip("h100-sxm6")
    assert "h100-sxm" in info.value.suggestions
    assert "did you mean" in str(info.value)


# -- user directories: additions, overrides, errors ------------------------------------------
def test_user_dir_adds_a_chip_and_overrides_one(tmp_path: Path) -> None:
    d = write_catalog_dir(
        tmp_path / "mine",
        {
            "new": chip_data("my-chip"),
            "h100": chip_data("h100-sxm", tdp_w={"value": 650, "source": ["my_bench"]}),
        },
    )
    cat = load_catalog([d])
    assert cat.chip("my-chip").peak("bf16") == pytest.approx(1e15)
    assert cat.chip("h100-sxm").tdp_watts == pytest.approx(650.0)
    assert cat.origin["chip:h100-sxm"] == d / "chips" / "h100.yaml"
    assert len(cat.chips) == len(load_catalog().chips) + 1


def test_env_var_adds_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = write_catalog_dir(tmp_path / "env", {"c": chip_data("env-chip")})
    monkeypatch.setenv(ENV_VAR, str(d))
    assert "env-chip" in load_catalog().chips


def test_missing_user_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError, match="does not exist"):
        load_catalog([tmp_path / "nope"])


BAD_FILES = {
    "misspelt key": (
        chip_data("bad-chip", tdp_watt={"value": 1, "source": ["my_bench"]}),
        "tdp_watt",
    ),
    "negative value": (
        chip_data("bad-chip", hbm_capacity_gb={"value": -80, "source": ["my_bench"]}),
        "hbm_capacity_gb",
    ),
    "matrix unit of zero": (
        chip_data("bad-chip", matrix_unit={"value": 0, "source": ["my_bench"]}),
        "matrix_unit",
    ),
    "fractional megacore": (
        chip_data("bad-chip", megacore={"value": 1.5, "source": ["my_bench"]}),
        "megacore",
    ),
    "megacore of zero": (
        chip_data("bad-chip", megacore={"value": 0, "source": ["my_bench"]}),
        "megacore",
    ),
    "unset without note": (
        chip_data("bad-chip", tdp_w={"value": None, "source": []}),
        "tdp_w",
    ),
    "unknown source": (
        chip_data("bad-chip", tdp_w={"value": 700, "source": ["nobody_said_so"]}),
        "nobody_said_so",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_chip_file_names_file_and_field(tmp_path: Path, case: str) -> None:
    data, field = BAD_FILES[case]
    d = write_catalog_dir(tmp_path / "bad", {"bad": data})
    with pytest.raises(CatalogFileError) as info:
        load_catalog([d])
    msg = str(info.value)
    assert "bad.yaml" in msg
    assert field in msg


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    d = write_catalog_dir(
        tmp_path / "bad", raw="id: x\npeak_bf16_dense_tflops: {value: 1, source: [a\n"
    )
    with pytest.raises(CatalogFileError) as info:
        load_catalog([d])
    msg = str(info.value)
    assert "broken.yaml" in msg
    assert "line" in msg
    assert "invalid YAML" in msg
