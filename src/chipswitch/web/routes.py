"""The HTTP API under /api: thin handlers over one `chipswitch.Session`, answering the CLI's JSON.

Plan, compare, validate and decide call the same `Session` methods as the CLI and return their
results' `to_json()`; catalog listings use the same record builders as the CLI's `--json`. So
`GET /api/chips` is `chipswitch hardware list --json` and `POST /api/plan` is
`chipswitch plan ... --json` for the same inputs. The engine's CPU work runs on the bounded
pool of `limits.Worker`; no handler opens a path taken from a request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from chipswitch._yaml import parse_yaml_text
from chipswitch.api.presenters import (
    chip_detail,
    chip_record,
    jsonable,
    model_record,
    model_summary,
    price_record,
)
from chipswitch.api.session import PUBLIC_CSV, Session
from chipswitch.catalog import Catalog
from chipswitch.decide.scenario import (
    SCENARIO_DIR,
    Scenario,
    apply_settings,
    load_scenario_raw,
    parse_scenario,
    shipped_scenarios,
)
from chipswitch.errors import CatalogFileError, ChipswitchError, UnknownNameError
from chipswitch.parallel.plan import parse_plan
from chipswitch.planning.compare import FailureOptions, pareto_counts
from chipswitch.web.limits import (
    LimitError,
    Limits,
    LruCache,
    Worker,
    check_nodes,
    check_plan_grid,
)
from chipswitch.web.schemas import (
    CompareRequest,
    DecideRequest,
    ExportRequest,
    Objective,
    PlanRequest,
)

T = TypeVar("T")
LOG = logging.getLogger("chipswitch.web")

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
#: Web-only bounds on a posted scenario (the CLI has none: it runs on your own machine).
MAX_HORIZON_MONTHS = 240
MAX_OPTIONS = 16


class ApiError(Exception):
    """An answer other than 200 that the API writes itself: `{"detail": ..., **extra}`."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


@dataclass
class ApiState:
    """What the handlers share: the session, the limits, the worker pool and caches."""

    session: Session
    limits: Limits
    worker: Worker
    cache: LruCache
    _validation: dict[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def catalog(self) -> Catalog:
        return self.session.catalog

    def validation(self) -> dict[str, Any]:
        """The bundled public validation set, predicted once per server."""
        with self._lock:
            if self._validation is None:
                cat = self.catalog
                result = self.session.validate(PUBLIC_CSV)
                vendors = {}
                for r in result.report.results:
                    try:
                        vendors[r.accelerator] = cat.chip(r.accelerator).vendor
                    except UnknownNameError:
                        vendors[r.accelerator] = "other"
                self._validation = {
                    "file": PUBLIC_CSV.name,
                    **result.to_json(),
                    "vendors": vendors,
                }
            return self._validation


def state(request: Request) -> ApiState:
    st: ApiState = request.app.state.chipswitch
    return st


def _find(kind: str, field_name: str, name: str, find: Callable[[str], T], status: int) -> T:
    try:
        return find(name)
    except UnknownNameError as exc:
        raise ApiError(status, str(exc), suggestions=exc.suggestions, field=field_name) from None


router = APIRouter(prefix="/api")


# -- catalog ---------------------------------------------------------------------------------------


@router.get("/chips", summary="Accelerators (chipswitch hardware list --json)")
def list_chips(
    request: Request,
    vendor: Annotated[str | None, Query(max_length=32, description="only this vendor")] = None,
) -> JSONResponse:
    cat = state(request).catalog
    chips = sorted(cat.chips.values(), key=lambda c: (c.vendor, c.release_year or 0, c.id))
    if vendor is not None:
        vendors = sorted({c.vendor for c in chips})
        if vendor.lower() not in vendors:
            err = UnknownNameError("vendor", vendor, vendors)
            raise ApiError(422, f"{err}; known vendors: {', '.join(vendors)}", field="vendor")
        chips = [c for c in chips if c.vendor == vendor.lower()]
    return JSONResponse(jsonable([chip_record(c) for c in chips]))


@router.get("/chips/{chip_id}", summary="One accelerator (chipswitch hardware show --json)")
def get_chip(request: Request, chip_id: str) -> JSONResponse:
    cat = state(request).catalog
    chip = _find("chip", "chip_id", chip_id, cat.chip, 404)
    record = chip_detail(cat, chip)
    record["file"] = Path(record["file"]).name  # not the server's directories
    record["offerings"] = sorted(o.id for o in cat.offerings_for(chip.id))
    return JSONResponse(jsonable(record))


@router.get("/offerings", summary="Published prices (chipswitch prices list --json)")
def list_offerings(
    request: Request,
    chip: Annotated[str | None, Query(max_length=128, description="only this chip")] = None,
    all_types: Annotated[
        bool, Query(alias="all", description="also price types with no published price")
    ] = False,
) -> JSONResponse:
    cat = state(request).catalog
    chip_id = _find("chip", "chip", chip, cat.chip, 404).id if chip else None
    rows = [
        price_record(off, p)
        for off in sorted(cat.offerings.values(), key=lambda o: (o.chip, o.id))
        if chip_id is None or off.chip == chip_id
        for p in sorted(off.prices, key=lambda p: (p.type, p.sort_date))
        if all_types or p.usd_per_chip_second is not None
    ]
    return JSONResponse(jsonable(rows))


@router.get("/models", summary="Model shapes (chipswitch models list --json)")
def list_models(request: Request) -> JSONResponse:
    cat = state(request).catalog
    shapes = sorted(cat.models.values(), key=lambda m: (m.family or "", m.id))
    return JSONResponse(jsonable([model_summary(m) for m in shapes]))


@router.get("/models/{model_id}", summary="One model shape (chipswitch models show --json)")
def get_model(request: Request, model_id: str) -> JSONResponse:
    cat = state(request).catalog
    shape = _find("model", "model_id", model_id, cat.model, 404)
    return JSONResponse(jsonable(model_record(shape)))


@router.get("/scenarios", summary="Names of the shipped decision scenarios")
def list_scenarios() -> JSONResponse:
    return JSONResponse(shipped_scenarios())


@router.get(
    "/scenarios/{name}",
    summary="A shipped scenario's YAML text",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
def get_scenario(name: str) -> PlainTextResponse:
    path = _shipped_scenario(name)
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="application/yaml")


@router.get("/limits", summary="The bounds this server puts on one request")
def get_limits(request: Request) -> JSONResponse:
    lim = state(request).limits
    out = {k: getattr(lim, k) for k in lim.__dataclass_fields__}
    out |= {"max_horizon_months": MAX_HORIZON_MONTHS, "max_options": MAX_OPTIONS}
    return JSONResponse(out)


def _shipped_scenario(name: str) -> Path:
    """The file of a shipped scenario; any other name (a path included) is a 404."""
    names = shipped_scenarios()
    if name not in names:
        err = UnknownNameError("scenario", name, names)
        raise ApiError(404, f"{err} (shipped: {', '.join(names)})", suggestions=err.suggestions)
    return SCENARIO_DIR / f"{name}.yaml"


# -- the performance engine ------------------------------------------------------------------------


def _grid(
    st: ApiState, req: PlanRequest | CompareRequest | ExportRequest, hardware: str, chips: int
) -> int:
    _find("model", "model", req.model, st.catalog.model, 422)
    chip = _find("chip", "hardware", hardware, st.catalog.chip, 422)
    return st.session.plan_grid_size(
        req.model, chip.id, chips=chips, global_batch=req.global_batch, seq=req.seq
    )


def _check_job(lim: Limits, req: PlanRequest | CompareRequest | ExportRequest) -> None:
    for name, value, bound in (
        ("chips", req.chips, lim.max_chips),
        ("global_batch", req.global_batch, lim.max_global_batch),
        ("seq", req.seq, lim.max_seq_len),
    ):
        if value > bound:
            raise LimitError(422, f"{name} {value:,} is over the limit of {bound:,}", f"max_{name}")


async def _cached(
    st: ApiState, key: tuple[str, str], prepare: Callable[[], Callable[[], dict[str, Any]]]
) -> JSONResponse:
    """Answer from the cache, else validate and bound the request (`prepare`, which returns
    the CPU work), run the work on the bounded pool and cache the JSON."""
    hit = st.cache.get(key)
    if hit is not None:
        return JSONResponse(hit)
    work = prepare()
    body = await st.worker.run(work)
    st.cache.put(key, body)
    return JSONResponse(body)


@router.post("/plan", summary="Best parallel plans for a job (chipswitch plan --json)")
async def plan(req: PlanRequest, request: Request) -> JSONResponse:
    st = state(request)
    return await _cached(st, ("plan", req.model_dump_json()), lambda: _plan_work(st, req))


def _plan_work(st: ApiState, req: PlanRequest) -> Callable[[], dict[str, Any]]:
    _check_job(st.limits, req)
    counts = [req.chips]
    if req.tokens and req.pareto:
        counts += pareto_counts(req.chips)
    grid = sum(_grid(st, req, req.hardware, n) for n in counts)
    check_plan_grid(grid, st.limits, "this plan")
    if req.price:
        st.session.price(req.hardware, req.price)  # a bad offering is a 4xx before any work

    failures = FailureOptions.from_user_units(
        req.failure_rate, req.storage_bandwidth_gb_per_s, req.checkpoint_interval_min
    )

    def work() -> dict[str, Any]:
        return st.session.plan_training(
            req.model, req.hardware, chips=req.chips, global_batch=req.global_batch,
            seq=req.seq, precision=req.precision, tokens=req.tokens, price=req.price,
            top=req.top, pareto=req.pareto, failures=failures,
        ).to_json()  # fmt: skip

    return work


@router.post("/export", summary="A plan as a framework's run config (chipswitch export --json)")
async def export_config(req: ExportRequest, request: Request) -> JSONResponse:
    st = state(request)
    return await _cached(st, ("export", req.model_dump_json()), lambda: _export_work(st, req))


def _export_work(st: ApiState, req: ExportRequest) -> Callable[[], dict[str, Any]]:
    _check_job(st.limits, req)
    if req.plan is None:
        check_plan_grid(_grid(st, req, req.hardware, req.chips), st.limits, "this export")
    else:
        _find("model", "model", req.model, st.catalog.model, 422)
        _find("chip", "hardware", req.hardware, st.catalog.chip, 422)
        try:
            workers = parse_plan(req.plan).workers
        except ValueError as exc:
            raise ApiError(422, f"plan: {exc}", field="plan") from None
        if workers != req.chips:
            raise ApiError(
                422, f"plan uses TP x PP x DP x CP = {workers} chips, chips is {req.chips}",
                field="plan",
            )  # fmt: skip

    def work() -> dict[str, Any]:
        return st.session.export(
            req.framework, req.model, req.hardware, chips=req.chips, plan=req.plan,
            global_batch=req.global_batch, seq=req.seq, precision=req.precision,
        ).to_json()  # fmt: skip

    return work


@router.post("/compare", summary="One job on each chip: days and USD to train")
async def compare_chips(req: CompareRequest, request: Request) -> JSONResponse:
    st = state(request)
    return await _cached(st, ("compare", req.model_dump_json()), lambda: _compare_work(st, req))


def _compare_work(st: ApiState, req: CompareRequest) -> Callable[[], dict[str, Any]]:
    cat, lim = st.catalog, st.limits
    _check_job(lim, req)
    if req.hardware:
        if len(req.hardware) > lim.max_hardware:
            raise LimitError(
                422, f"{len(req.hardware)} chips asked, limit {lim.max_hardware}", "max_hardware"
            )
        ids = [
            _find("chip", f"hardware.{i}", h, cat.chip, 422).id for i, h in enumerate(req.hardware)
        ]
    else:
        ids = sorted(cat.chips)
    grid = sum(_grid(st, req, h, req.chips) for h in ids)
    check_plan_grid(grid, lim, "this comparison")
    hardware = ids if req.hardware else None

    def work() -> dict[str, Any]:
        return st.session.compare(
            req.model, hardware, chips=req.chips, global_batch=req.global_batch, seq=req.seq,
            tokens=req.tokens, precision=req.precision, price_type=req.price_type,
        ).to_json()  # fmt: skip

    return work


@router.get("/validate", summary="The bundled public validation set (chipswitch validate --json)")
async def validation(request: Request) -> JSONResponse:
    st = state(request)
    return JSONResponse(await st.worker.run(st.validation))


# -- the decision engine ---------------------------------------------------------------------------

DECIDE_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DecideRequest"}},
            "application/yaml": {
                "schema": {"type": "string", "description": "a scenario file's YAML text"}
            },
        },
    }
}


def _parse_body(ctype: str, raw: bytes, lim: Limits) -> dict[str, Any]:
    """The request as DecideRequest fields; YAML bodies are the scenario itself."""
    if ctype in YAML_TYPES:
        try:
            data = parse_yaml_text(raw, "the YAML body")
        except CatalogFileError as exc:
            raise ApiError(422, "; ".join(exc.problems), field="body") from None
        if not isinstance(data, dict):
            what = "empty" if data is None else f"a {type(data).__name__} ({str(data)[:40]!r})"
            raise ApiError(
                422,
                f"body: a YAML body is a scenario mapping (the format of a scenario file), "
                f"but this one is {what}; to run a shipped scenario by name, send JSON "
                '{"scenario": "NAME"} (GET /api/scenarios lists them)',
                field="body",
            )
        check_nodes(data, lim)
        return {"scenario": data}
    if ctype not in ("", "application/json"):
        raise ApiError(
            415,
            f"content type '{ctype}' not accepted; send application/json or application/yaml",
        )
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"JSON decode error: {exc}"}]
        ) from None
    check_nodes(data, lim)
    if not isinstance(data, dict):
        raise RequestValidationError(
            [{"type": "dict_type", "loc": ("body",), "msg": "expected a JSON object"}]
        )
    return data


def _check_scenario(sc: Scenario, st: ApiState) -> None:
    cat, lim = st.catalog, st.limits
    if sc.horizon > MAX_HORIZON_MONTHS:
        raise LimitError(
            422,
            f"horizon of {sc.horizon} months is over the web limit of {MAX_HORIZON_MONTHS}",
            "max_horizon_months",
        )
    if len(sc.options) > MAX_OPTIONS:
        raise LimitError(
            422,
            f"{len(sc.options)} options, over the web limit of {MAX_OPTIONS}",
            "max_options",
        )
    total = 0
    for m in sc.roadmap.models:
        if m.model not in cat.models:
            continue  # the engine names the field
        for choice in sc.hardware.values():
            try:
                chip = cat.chip(choice.chip)
            except UnknownNameError:
                continue
            for name, value, bound in (
                ("n_chips", m.n_chips, lim.max_chips),
                ("global_batch", m.global_batch, lim.max_global_batch),
                ("seq_len", m.seq_len, lim.max_seq_len),
            ):
                if value > bound:
                    raise LimitError(
                        422,
                        f"roadmap model {m.model}: {name} {value:,} is over the limit of {bound:,}",
                        f"max_{name}",
                    )
            total += st.session.plan_grid_size(
                m.model, chip.id, chips=m.n_chips, global_batch=m.global_batch, seq=m.seq_len
            )
    check_plan_grid(total, lim, "the scenario's roadmap")


@router.post(
    "/decide",
    summary="Decision analysis of a scenario (chipswitch decide --json)",
    openapi_extra=DECIDE_BODY,
)
async def decide_scenario(
    request: Request,
    samples: Annotated[
        int | None, Query(ge=100, le=200_000, description="overrides the body's samples")
    ] = None,
    seed: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="overrides the body's seed")
    ] = None,
    objective: Annotated[
        Objective | None, Query(description="overrides the body's objective")
    ] = None,
) -> JSONResponse:
    st = state(request)
    lim = st.limits
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields = _parse_body(ctype, await request.body(), lim)
    for name, value in (("samples", samples), ("seed", seed), ("objective", objective)):
        if value is not None:
            fields[name] = value
    try:
        req = DecideRequest.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
        ) from None
    if req.samples > lim.max_samples:
        raise LimitError(
            422,
            f"samples {req.samples:,} is over the limit of {lim.max_samples:,}",
            "max_samples",
        )
    if isinstance(req.scenario, str):
        path = _shipped_scenario(req.scenario)
        sc = parse_scenario(apply_settings(load_scenario_raw(path), req.set), str(path))
    else:
        sc = parse_scenario(apply_settings(req.scenario, req.set), "scenario")
    _check_scenario(sc, st)

    posted = not isinstance(req.scenario, str)

    def work() -> dict[str, Any]:
        try:
            report = st.session.decide(
                sc,
                samples=req.samples,
                seed=req.seed,
                objective=req.objective,
                pair=None if req.pair is None else (req.pair[0], req.pair[1]),
                lhs=req.lhs,
            )
        except (ChipswitchError, ValidationError):
            raise
        except Exception as exc:
            if not posted:  # the shipped scenario failing is a bug: a 500 with a traceback
                raise
            # A posted scenario with extreme values can break the numerics (overflow to inf,
            # a NaN in a root finder): the request's fault, logged, answered with a 422.
            LOG.warning("decision on a posted scenario failed", exc_info=True)
            raise ApiError(
                422,
                f"the decision engine could not evaluate this scenario "
                f"({type(exc).__name__}: {exc}); check it for extreme values",
            ) from None
        return report.to_json()

    return JSONResponse(await st.worker.run(work))
