"""One training job planned end to end, on one chip or across many.

`plan_training` is what `chipswitch plan` computes: the best plans for the job on one chip,
with `tokens` the time, cost and energy to train them, and the time-vs-cost Pareto front over
1/4x to 4x the chips (on the all-in figures: a larger fleet is interrupted more often).
`compare` plans the same job on each of several chips and prices each at the cheapest of its
offerings, so "how many days and dollars on each chip" is one call.

Throughput per chip comes from `planning.search.search` (its 80% interval included); time,
money and energy from `chipswitch.planning.cost.training_cost`, ideal and all-in (failures,
restarts and checkpoints counted with the chip family's reliability, `planning.goodput`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from chipswitch import units
from chipswitch.catalog import Catalog
from chipswitch.catalog.files import PriceType
from chipswitch.errors import ChipswitchError, InfeasibleError, UnknownNameError
from chipswitch.hardware.spec import Chip, Offering, Price
from chipswitch.model.params import count_params
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.enumerate import MAX_WORKERS
from chipswitch.perf.efficiency import CalibrationTable, Efficiency
from chipswitch.perf.workload import Workload
from chipswitch.planning.cost import (
    GoodputInputs,
    TrainingCost,
    check_tokens,
    combine_costs,
    training_cost,
)
from chipswitch.planning.goodput import PER_1000_CHIP_DAYS, checkpoint_bytes, load_reliability
from chipswitch.planning.search import ParetoPoint, SearchResult, pareto, search

#: Every price type a catalog offering may publish.
PRICE_TYPES: tuple[str, ...] = get_args(PriceType)
#: Chip counts of the Pareto front, as multiples of the requested count.
PARETO_FACTORS = (0.25, 0.5, 1, 2, 4)


def pareto_counts(n_chips: int) -> list[int]:
    """The chip counts `chipswitch plan --tokens` searches for its time-vs-cost front (those
    the plan search takes: up to `MAX_WORKERS`)."""
    return sorted({max(1, min(MAX_WORKERS, int(n_chips * f))) for f in PARETO_FACTORS})


def check_precision(chip: Chip, precision: str) -> None:
    """Refuse fp8 on a chip that publishes no FP8 peak (A100, TPU v4, MI250X, ...).

    The engine would cost such fp8 GEMMs at the 16-bit rate plus the casts, an answer slower
    than bf16 that no one running the chip would choose; saying so beats printing it.
    """
    if precision == "fp8" and chip.peak_flops.get("fp8") is None:
        raise InfeasibleError(
            f"{chip.id} publishes no FP8 peak (no FP8 matrix units, or none documented): "
            "fp8 GEMMs would run at the 16-bit rate; use precision bf16"
        )


def resolve_offering(catalog: Catalog, chip: Chip, spec: str) -> tuple[Offering, Price]:
    """A price spec -> (offering, price), the one shape `plan --price` and `compare --price`
    share: a price type (`spot`, or `:spot`) is the chip's cheapest offering of that type;
    `OFFERING[:TYPE]` is that offering's newest published price of TYPE (default on-demand).

    The offering must rent `chip`; a missing price type names the types it has.
    """
    off_id, _, ptype = spec.strip().partition(":")
    if not off_id or (not ptype and off_id in PRICE_TYPES and off_id not in catalog.offerings):
        ptype = ptype or off_id
        check_price_type(ptype)
        found = cheapest_price(catalog, chip, ptype)
        if found is None:
            raise ChipswitchError(f"no offering of {chip.id} publishes a '{ptype}' price")
        return found
    off = catalog.offering(off_id)
    if off.chip != chip.id:
        raise ChipswitchError(f"offering {off.id} rents {off.chip}, not {chip.id}")
    try:
        return off, off.price(ptype or None)
    except ValueError as exc:
        raise ChipswitchError(str(exc)) from None


def resolve_price(catalog: Catalog, chip: Chip, spec: str) -> Price:
    """The price `spec` names for `chip` (see `resolve_offering`)."""
    return resolve_offering(catalog, chip, spec)[1]


def check_price_type(price_type: str) -> str:
    """`price_type` if it is one a catalog offering may publish; else ChipswitchError."""
    if price_type not in PRICE_TYPES:
        err = UnknownNameError("price type", price_type, PRICE_TYPES)
        hint = "" if err.suggestions else f"; one of {', '.join(PRICE_TYPES)}"
        raise ChipswitchError(f"{err}{hint}")
    return price_type


def cheapest_price(catalog: Catalog, chip: Chip, price_type: str) -> tuple[Offering, Price] | None:
    """Among `chip`'s offerings, the lowest newest published price of `price_type`, or None."""
    found: list[tuple[Offering, Price]] = []
    for off in catalog.offerings_for(chip.id):
        try:
            p = off.price(price_type)
        except ValueError:
            continue
        if p.usd_per_chip_second is not None:
            found.append((off, p))
    if not found:
        return None
    return min(found, key=lambda op: (op[1].usd_per_chip_second or 0.0, op[0].id))


def _factorise(n: int) -> str:
    """`992` -> `2^5 x 31`."""
    parts, p, m = [], 2, n
    while p * p <= m:
        k = 0
        while m % p == 0:
            m, k = m // p, k + 1
        if k:
            parts.append(f"{p}^{k}" if k > 1 else str(p))
        p += 1
    if m > 1:
        parts.append(str(m))
    return " x ".join(parts) or "1"


def _smooth(n: int) -> bool:
    """No prime factor above 7: counts that tensor, context, pipeline and data degrees share."""
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def nearest_chip_counts(
    workload: Workload,
    chip: Chip,
    n_chips: int,
    *,
    catalog: Catalog,
    eff: Efficiency | None = None,
    tries: int = 8,
) -> tuple[int | None, int | None]:
    """The nearest chip counts below and above `n_chips` with a valid plan (None if none found
    within a quarter of `n_chips` either way). Candidates are whole nodes whose count has no
    prime factor above 7, nearest first; at most `tries` searches are run."""
    node = chip.chips_per_node or 1
    span = max(node, n_chips // 4)
    cands = sorted(
        (m for m in range(max(node, n_chips - span), n_chips + span + 1, 1)
         if m != n_chips and m % node == 0 and _smooth(m)),
        key=lambda m: (abs(m - n_chips), m),
    )  # fmt: skip
    below = above = None
    for m in cands[: tries * 2]:
        if (m < n_chips and below is not None) or (m > n_chips and above is not None):
            continue
        if tries <= 0:
            break
        tries -= 1
        try:
            search(workload, chip, m, catalog=catalog, eff=eff, top=1)
        except InfeasibleError:
            continue
        if m < n_chips:
            below = m
        else:
            above = m
        if below is not None and above is not None:
            break
    return below, above


def search_or_explain(
    workload: Workload,
    chip: Chip,
    n_chips: int,
    *,
    catalog: Catalog,
    eff: Efficiency | None = None,
    top: int = 5,
) -> SearchResult:
    """`search`, and when no layout exists on a chip count that does not split evenly over the
    batch and the layers (992 = 2^5 x 31 chips for a batch of 1,024), say why and name the
    nearest counts that have a plan. Memory shortfalls are re-raised as they are."""
    try:
        return search(workload, chip, n_chips, catalog=catalog, eff=eff, top=top)
    except InfeasibleError as exc:
        if not str(exc).startswith("no valid plan"):  # a memory shortfall, not the layout
            raise
        below, above = nearest_chip_counts(workload, chip, n_chips, catalog=catalog, eff=eff)
        near = " and ".join(f"{m:,}" for m in (below, above) if m is not None)
        raise InfeasibleError(
            f"{exc}; {n_chips:,} chips = {_factorise(n_chips)}: tensor and context degrees are "
            f"powers of two, the data-parallel degree must divide the global batch "
            f"({workload.global_batch}), so what remains falls on pipeline stages, and "
            f"{workload.model.layers} layers do not split onto them the way Megatron-LM runs "
            "uneven stages" + (f"; nearest chip counts with a valid plan: {near}" if near else "")
        ) from None


@dataclass(frozen=True)
class FailureOptions:
    """The user's overrides of the failure model; None keeps the sourced default.

    `failures_per_chip_s`: interruptions per chip-second (0 turns failures off);
    `storage_bandwidth`: the job's checkpoint write bandwidth, bytes/s;
    `checkpoint_interval_s`: seconds of training between checkpoints (Daly's optimum if None).
    """

    failures_per_chip_s: float | None = None
    storage_bandwidth: float | None = None
    checkpoint_interval_s: float | None = None

    @classmethod
    def from_user_units(
        cls,
        failures_per_1000_chip_days: float | None = None,
        storage_gb_per_s: float | None = None,
        checkpoint_interval_min: float | None = None,
    ) -> FailureOptions:
        """The options as `plan` and `/api/plan` take them (interruptions per 1,000 chip-days,
        GB/s, minutes), converted to SI; None keeps the default."""
        return cls(
            None
            if failures_per_1000_chip_days is None
            else failures_per_1000_chip_days / PER_1000_CHIP_DAYS,
            None if storage_gb_per_s is None else storage_gb_per_s * units.GB,
            None if checkpoint_interval_min is None else checkpoint_interval_min * 60.0,
        )


def failure_inputs(
    model: ModelShape, chip: Chip, options: FailureOptions | None = None
) -> GoodputInputs:
    """The failure model of a job: the reliability of `chip`'s family (a labelled prior where
    none is published), the checkpoint size of the model, and the user's overrides."""
    opt = options or FailureOptions()
    rel = load_reliability().for_family(chip.family)
    if opt.failures_per_chip_s is not None:
        rel = rel.with_failure_rate(opt.failures_per_chip_s)
    state = checkpoint_bytes(count_params(model).total)
    return GoodputInputs(rel, state, opt.storage_bandwidth, opt.checkpoint_interval_s)


@dataclass(frozen=True)
class Stage:
    """One stage of a run: `tokens` trained as `global_batch` sequences of `seq_len` tokens per
    step (a long-context extension is a stage with longer sequences and fewer of them)."""

    tokens: float
    seq_len: int
    global_batch: int


@dataclass(frozen=True)
class StageOutcome:
    """A stage's best plan and its cost (ideal and all-in)."""

    stage: Stage
    result: SearchResult
    cost: TrainingCost


@dataclass(frozen=True)
class PlanOutcome:
    """The best plans for a job on one chip; with tokens, the cost to train and the front.

    With further stages, `cost` is the whole run (every stage added up) and `stages` lists each
    stage, the first being the job's own batch and sequence length."""

    result: SearchResult
    cost: TrainingCost | None
    front: list[ParetoPoint]
    stages: tuple[StageOutcome, ...] = ()


def plan_training(
    workload: Workload,
    chip: Chip,
    n_chips: int,
    *,
    catalog: Catalog,
    tokens: float | None = None,
    price: Price | None = None,
    top: int = 5,
    pareto_front: bool = True,
    eff: Efficiency | None = None,
    failures: FailureOptions | None = None,
    stages: Sequence[Stage] = (),
) -> PlanOutcome:
    """Search every plan on `n_chips` of `chip`; with `tokens`, add the cost (ideal and
    all-in) and the Pareto front.

    `eff` replaces the catalog calibration (a profile from `chipswitch calibrate`);
    `failures` overrides the failure model's defaults; `stages` are trained after the first
    (`tokens` at the workload's batch and sequence length), each with its own best plan on the
    same chips; the front covers the first stage and is built on the all-in figures (each chip
    count with the same failure model), with the ideal ones kept beside them."""
    if tokens is not None:
        check_tokens(tokens)
    check_precision(chip, workload.precision)
    if stages and not tokens:
        raise ChipswitchError("stages follow a first stage: give --tokens for it too")
    result = search_or_explain(workload, chip, n_chips, catalog=catalog, eff=eff, top=top)
    cost = None
    front: list[ParetoPoint] = []
    done: list[StageOutcome] = []
    if tokens:
        fail = failure_inputs(workload.model, chip, failures)

        def priced(r: SearchResult, n_tokens: float) -> TrainingCost:
            b = r.best
            return training_cost(
                n_tokens, b.tokens_per_s_per_chip, b.interval, n_chips, chip, price,
                failures=fail, step_time_s=b.step_time,
            )  # fmt: skip

        first = Stage(tokens, workload.seq_len, workload.global_batch)
        done.append(StageOutcome(first, result, priced(result, tokens)))
        for st in stages:
            check_tokens(st.tokens)
            w = Workload(workload.model, st.global_batch, st.seq_len, workload.precision)
            r = search_or_explain(w, chip, n_chips, catalog=catalog, eff=eff, top=1)
            done.append(StageOutcome(st, r, priced(r, st.tokens)))
        cost = combine_costs([d.cost for d in done])
        if pareto_front:
            counts = pareto_counts(n_chips)
            front = pareto(
                workload, chip, counts, tokens, price, catalog=catalog, eff=eff, failures=fail
            )
    return PlanOutcome(result, cost, front, tuple(done) if stages else ())


@dataclass(frozen=True)
class ChipOutcome:
    """One chip of a comparison: its best plan and cost, or why no plan fits."""

    chip: Chip
    result: SearchResult | None
    cost: TrainingCost | None
    offering: str | None  # the offering whose price was used
    reason: str | None  # why there is no plan


@dataclass(frozen=True)
class Comparison:
    workload: Workload
    n_chips: int
    tokens: float
    price_type: str
    rows: list[ChipOutcome]  # feasible chips fastest first, then the others by id


def compare(
    workload: Workload,
    chips: Sequence[Chip],
    n_chips: int,
    tokens: float,
    *,
    catalog: Catalog,
    price_type: str = "on_demand",
    table: CalibrationTable | None = None,
) -> Comparison:
    """Plan `workload` on `n_chips` of each chip; days, USD and energy to train `tokens`.

    A chip on which no plan fits is kept with the reason. Each chip is priced at the cheapest
    of its offerings' newest `price_type` prices; a chip without one has no cost. `table`
    replaces the shipped calibration (one with a profile's family, `table_with_profile`).
    """
    check_tokens(tokens)
    rows: list[ChipOutcome] = []
    for chip in {c.id: c for c in chips}.values():  # keep order, drop repeats
        try:
            check_precision(chip, workload.precision)
            eff = None
            if table is not None:
                eff = table.for_chip(chip.family, chip.vendor, chip.id, chip.release_year)
            r = search_or_explain(workload, chip, n_chips, catalog=catalog, eff=eff, top=1)
        except InfeasibleError as exc:
            rows.append(ChipOutcome(chip, None, None, None, str(exc)))
            continue
        found = cheapest_price(catalog, chip, price_type)
        off, price = found if found else (None, None)
        b = r.best
        cost = training_cost(
            tokens, b.tokens_per_s_per_chip, b.interval, n_chips, chip, price,
            failures=failure_inputs(workload.model, chip), step_time_s=b.step_time,
        )  # fmt: skip
        rows.append(ChipOutcome(chip, r, cost, off.id if off else None, None))
    rows.sort(
        key=lambda o: (o.cost is None, o.cost.seconds if o.cost else 0.0, o.chip.id),
    )
    return Comparison(workload, n_chips, tokens, price_type, rows)
