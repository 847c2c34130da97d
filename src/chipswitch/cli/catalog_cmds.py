"""`chipswitch hardware|models|prices ...`: browse the catalog as tables or JSON.

JSON output keeps SI units (FLOP/s, bytes, bytes/s, W) and USD per hour for prices; tables
convert to TFLOP/s, GB, TB/s, GB/s, W and $/h, with the unit in the column header.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from chipswitch.api.presenters import (
    chip_detail,
    chip_file,
    chip_record,
    model_record,
    model_summary,
    price_record,
    provenance,
    source_detail,
)
from chipswitch.catalog.files import ChipFile
from chipswitch.cli.common import (
    DASH,
    cell,
    check_choice,
    console,
    fmt_count,
    get_catalog,
    lookup,
    new_table,
    print_json,
    print_table,
    si_format,
)
from chipswitch.hardware.spec import Chip

hardware_app = typer.Typer(help="Accelerators: peaks, memory, interconnect, power.")
models_app = typer.Typer(help="Model shapes and their parameter counts.")
prices_app = typer.Typer(help="Published cloud prices per chip-hour, with dates and sources.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def register(app: typer.Typer) -> None:
    """Add the catalog command groups to the root app."""
    app.add_typer(hardware_app, name="hardware")
    app.add_typer(models_app, name="models")
    app.add_typer(prices_app, name="prices")


# -- hardware -------------------------------------------------------------------------------
def _chip_sort_key(chip: Chip) -> tuple[str, int, str]:
    return (chip.vendor, chip.release_year or 0, chip.id)


def _peak_16(chip: Chip) -> Text:
    """BF16 peak, or the FP16 peak marked as such where the chip has no BF16 (V100)."""
    bf16, fp16 = chip.peak_flops.get("bf16"), chip.peak_flops.get("fp16")
    if bf16 is None and fp16 is not None:
        return Text(f"{si_format(fp16, 'TFLOP/s', with_unit=False)}†")
    return cell(bf16, "TFLOP/s")


def _scale_up(chip: Chip) -> Text:
    text = cell(chip.scale_up_bandwidth, "GB/s")
    if chip.scale_up_direction_assumed and chip.scale_up_bandwidth is not None:
        text.append("*", style="yellow")
    return text


@hardware_app.command("list")
def hardware_list(
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="Only this vendor (nvidia, amd, google, …).")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """List accelerators with their dense peaks, memory, interconnect and power."""
    cat = get_catalog()
    wanted = check_choice("vendor", vendor, (c.vendor for c in cat.chips.values()))
    chips = sorted(
        (c for c in cat.chips.values() if wanted is None or c.vendor == wanted), key=_chip_sort_key
    )
    if json:
        print_json([chip_record(c) for c in chips])
        return
    table = new_table(
        title="Accelerators (dense peaks)",
        caption=(
            "Link: scale-up bandwidth per chip and per direction (NVLink, ICI, NeuronLink, "
            "Infinity Fabric); * = the source does not say, read as a bidirectional total and "
            f"halved. Domain: chips one scale-up network joins. † FP16 (no BF16). "
            f"{DASH} = no source gives it. "
            "Details and sources: chipswitch hardware show ID"
        ),
    )
    table.add_column("ID", style="bold", no_wrap=True)
    table.add_column("Vendor", no_wrap=True)
    for header in ("BF16\nTFLOP/s", "FP8\nTFLOP/s", "HBM\nGB", "HBM\nTB/s", "Link\nGB/s"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Domain\nchips", justify="right", no_wrap=True)
    table.add_column("TDP\nW", justify="right", no_wrap=True)
    for c in chips:
        table.add_row(
            c.id,
            c.vendor,
            _peak_16(c),
            cell(c.peak_flops.get("fp8"), "TFLOP/s"),
            cell(c.hbm_bytes, "GB", decimals=0),
            cell(c.hbm_bandwidth, "TB/s", decimals=2),
            _scale_up(c),
            cell(c.scale_up_domain),
            cell(c.tdp_watts, "W"),
        )
    print_table(table)


def _show_rows(chip: Chip, cf: ChipFile | None) -> list[tuple[str, str, str]]:
    """(label, value with unit, file key) for the chip's detail table."""
    hbm_key = "hbm_capacity_gib" if cf is not None and cf.hbm_capacity_gib else "hbm_capacity_gb"
    hbm = si_format(chip.hbm_bytes, "GB")
    if hbm_key == "hbm_capacity_gib":
        hbm = f"{si_format(chip.hbm_bytes, 'GiB')} ({hbm})"
    assumed = chip.scale_up_direction_assumed and chip.scale_up_bandwidth is not None
    direction = " (direction assumed)" if assumed else ""
    rows = [
        (
            "Peak BF16 (dense)",
            si_format(chip.peak_flops.get("bf16"), "TFLOP/s"),
            "peak_bf16_dense_tflops",
        ),
        (
            "Peak FP16 (dense)",
            si_format(chip.peak_flops.get("fp16"), "TFLOP/s"),
            "peak_fp16_dense_tflops",
        ),
        (
            "Peak FP8 (dense)",
            si_format(chip.peak_flops.get("fp8"), "TFLOP/s"),
            "peak_fp8_dense_tflops",
        ),
        ("Peak FP32", si_format(chip.peak_flops.get("fp32"), "TFLOP/s"), "peak_fp32_tflops"),
        ("HBM capacity", hbm, hbm_key),
        ("HBM bandwidth", si_format(chip.hbm_bandwidth, "TB/s"), "hbm_bandwidth_tb_per_s"),
        ("TDP", si_format(chip.tdp_watts, "W"), "tdp_w"),
        (
            f"Scale-up ({chip.scale_up_name}), per direction",
            si_format(chip.scale_up_bandwidth, "GB/s") + direction,
            "scale_up",
        ),
        ("Scale-up domain", _int(chip.scale_up_domain, "chips"), "scale_up_domain_chips"),
        ("Chips per node", _int(chip.chips_per_node), "chips_per_node"),
        (
            "Scale-out per node",
            si_format(chip.scale_out_bandwidth_per_node, "Gbit/s"),
            "scale_out_per_node_gbit_per_s",
        ),
        ("Release year", _int(chip.release_year), "release_year"),
    ]
    if chip.neuroncores_per_chip is not None:
        rows.append(
            ("NeuronCores per chip", _int(chip.neuroncores_per_chip), "neuroncores_per_chip")
        )
    if cf is not None and cf.matrix_unit is not None:
        edge = chip.matrix_unit
        rows.append(("Matrix unit (systolic)", f"{edge} x {edge}" if edge else DASH, "matrix_unit"))
    if cf is not None and cf.megacore is not None:
        cores = cf.megacore.value
        rows.append(("TensorCores per device (megacore)", _int(cores), "megacore"))
    return rows


def _int(value: int | None, unit: str = "") -> str:
    if value is None:
        return DASH
    return f"{value:,} {unit}".strip() if unit else str(value)


@hardware_app.command("show")
def hardware_show(
    chip_id: Annotated[str, typer.Argument(metavar="ID", help="Chip id or alias, e.g. h100-sxm.")],
    json: JsonFlag = False,
) -> None:
    """Show one accelerator with every value's sources and notes."""
    cat = get_catalog()
    chip = lookup("chip", chip_id, cat.chip, cat.chips)
    if json:
        print_json(chip_detail(cat, chip))
        return
    cf = chip_file(cat, chip)
    prov = provenance(cf)
    console.print(Text(f"{chip.name}", style="bold"), Text(f"({chip.id})", style="dim"))
    console.print(
        f"vendor {chip.vendor} · family {chip.family} · {chip.kind}"
        + (f" · aliases {', '.join(chip.aliases)}" if chip.aliases else ""),
        markup=False,
    )
    table = new_table(show_lines=False)
    table.add_column("Field")
    table.add_column("Value", justify="right")
    table.add_column("Sources", overflow="fold")
    table.add_column("Note", overflow="fold")
    for label, value, key in _show_rows(chip, cf):
        if key not in prov:
            continue  # optional field the file does not give
        table.add_row(
            label,
            cell(None) if value == DASH else Text(value),
            Text(", ".join(prov[key]["sources"])),
            Text(prov[key]["note"] or ""),
        )
    print_table(table)
    for extra in (cf.on_chip_memory, cf.note) if cf is not None else ():
        if extra:
            console.print(Text(extra, style="dim"))
    offerings = sorted(o.id for o in cat.offerings_for(chip.id))
    if offerings:
        console.print(
            f"Offerings: {', '.join(offerings)} (chipswitch prices list --chip {chip.id})",
            markup=False,
        )
    console.print(Text("Sources", style="bold"))
    for sid in chip.sources:
        detail = source_detail(cat, sid)
        where = detail["url"] or detail["repo"] or ""
        console.print(Text(f"  {sid}: {detail['title'] or '?'}  {where}".rstrip()))
    console.print(Text(f"File: {cat.origin.get(f'chip:{chip.id}', '')}", style="dim"))


# -- models ---------------------------------------------------------------------------------
@models_app.command("list")
def models_list(json: JsonFlag = False) -> None:
    """List model shapes with their parameter counts."""
    cat = get_catalog()
    shapes = sorted(cat.models.values(), key=lambda m: (m.family or "", m.id))
    if json:
        print_json([model_summary(m) for m in shapes])
        return
    if not shapes:
        console.print("The catalog has no models.", style="yellow")
        return
    table = new_table(title="Models", caption="FFN of MoE models is the expert width.")
    table.add_column("ID", style="bold", no_wrap=True)
    for header in ("Layers", "Hidden", "Heads\nq/kv", "FFN", "Experts\nall/top", "Params"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Active", justify="right", no_wrap=True)
    for m in shapes:
        rec = model_summary(m)
        moe = m.moe
        table.add_row(
            m.id,
            str(m.layers),
            f"{m.hidden:,}",
            f"{m.heads}/{m.kv_heads}",
            f"{moe.expert_ffn_hidden:,}" if moe else f"{m.ffn_hidden:,}",
            f"{moe.experts}/{moe.top_k}" if moe else cell(None),
            fmt_count(rec["params_total"]),
            fmt_count(rec["params_active"]) if moe else cell(None),
        )
    print_table(table)


@models_app.command("show")
def models_show(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="Model id or alias.")],
    json: JsonFlag = False,
) -> None:
    """Show a model's shape and its parameters per component."""
    cat = get_catalog()
    shape = lookup("model", model_id, cat.model, cat.models)
    record = model_record(shape)
    if json:
        print_json(record)
        return
    console.print(Text(shape.name, style="bold"), Text(f"({shape.id})", style="dim"))
    table = new_table(title="Shape", show_header=False)
    table.add_column("Field")
    table.add_column("Value")
    for key, value in shape.model_dump(
        exclude={"id", "name", "reference", "note", "aliases", "source"}
    ).items():
        if value is None or value == [] or (key in ("moe", "mla") and not value):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
        table.add_row(key, Text(str(value)))
    print_table(table)
    params = new_table(title="Parameters")
    params.add_column("Component")
    params.add_column("Parameters", justify="right")
    params.add_column("Share", justify="right")
    total = record["params_total"]
    for name, n in record["params"].items():
        if n:
            params.add_row(name, f"{n:,}", f"{100 * n / total:.1f}%")
    params.add_row(Text("total", style="bold"), Text(f"{total:,}", style="bold"), "100%")
    if shape.is_moe:
        active = record["params_active"]
        params.add_row("active per token", f"{active:,}", f"{100 * active / total:.1f}%")
    print_table(params)
    ref = shape.reference
    if ref is not None:
        line = f"Reference ({ref.source}): {fmt_count(ref.params_total)} total"
        line += f" (counted {_delta(total, ref.params_total)})"
        if ref.params_active is not None:
            line += f", {fmt_count(ref.params_active)} active"
            line += f" (counted {_delta(record['params_active'], ref.params_active)})"
        console.print(Text(line, style="dim"))
    for extra in (shape.source and f"Source: {shape.source}", shape.note):
        if extra:
            console.print(Text(extra, style="dim"))


def _delta(counted: float, reference: float) -> str:
    return f"{100 * (counted - reference) / reference:+.2f}%"


# -- prices ---------------------------------------------------------------------------------
@prices_app.command("list")
def prices_list(
    chip: Annotated[str | None, typer.Option("--chip", help="Only offerings of this chip.")] = None,
    cloud: Annotated[
        str | None, typer.Option("--cloud", help="Only this cloud (aws, gcp, azure, other).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list price types with no published price.")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """List published prices, one row per price, with its date and sources."""
    cat = get_catalog()
    chip_id = lookup("chip", chip, cat.chip, cat.chips).id if chip else None
    wanted_cloud = check_choice("cloud", cloud, (o.cloud for o in cat.offerings.values()))
    rows = [
        price_record(off, p)
        for off in sorted(cat.offerings.values(), key=lambda o: (o.chip, o.id))
        if (chip_id is None or off.chip == chip_id)
        and (wanted_cloud is None or off.cloud == wanted_cloud)
        for p in sorted(off.prices, key=lambda p: (p.type, p.sort_date))
        if show_all or p.usd_per_chip_second is not None
    ]
    if json:
        print_json(rows)
        return
    if not rows:
        console.print("No prices match.", style="yellow")
        return
    wide = not console.is_terminal or console.width >= 130
    caption = "Rates change: check the date."
    if not wide:
        caption += " Instance prices, regions and sources: a wider terminal or --json."
    table = new_table(title="Published prices (USD)", caption=caption)
    table.add_column("Offering", style="bold", no_wrap=True)
    table.add_column("Chip", no_wrap=True)
    table.add_column("Type", overflow="fold")
    table.add_column("$/chip-h", justify="right", no_wrap=True)
    if wide:
        table.add_column("$/inst-h", justify="right", no_wrap=True)
        table.add_column("Region", overflow="fold")
    table.add_column("Date", overflow="fold")
    if wide:
        table.add_column("Sources", overflow="fold")
    for r in rows:
        cells = [r["offering"], r["chip"], r["type"], _usd(r["usd_per_chip_hour"])]
        if wide:
            cells += [_usd(r["usd_per_instance_hour"]), cell(r["region"])]
        cells.append(cell(r["date"]))
        if wide:
            cells.append(Text(", ".join(r["sources"])))
        table.add_row(*cells)
    print_table(table)


def _usd(value: float | None) -> Text:
    return cell(None) if value is None else Text(f"{value:,.2f}")


__all__ = ["chip_detail", "chip_record", "model_record", "price_record", "register"]
