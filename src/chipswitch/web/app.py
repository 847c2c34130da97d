"""The web app: the HTTP API (`routes`), the dashboard at / and its local assets.

`create_app()` builds a FastAPI app around one `Session`. Everything the dashboard loads comes
from this server: its own HTML, JS and CSS from `web/static/`, and plotly.js from the installed
`plotly` package, so it works offline. The CDN-based Swagger UI is disabled; the OpenAPI
document is at /openapi.json. CORS is closed unless origins are given.

Requests must be addressed (`Host` header) to a name this server answers to: loopback names
and the ones given (`chipswitch serve --host/--allow-host`), so that a page on another site
whose name is rebound to 127.0.0.1 (DNS rebinding) cannot drive the API from a browser.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chipswitch import __version__
from chipswitch._yaml import format_validation_error
from chipswitch.api.session import Session
from chipswitch.errors import CatalogFileError, ChipswitchError, UnknownNameError
from chipswitch.web.limits import (
    BodySizeLimit,
    BodyTooLarge,
    LimitError,
    Limits,
    LruCache,
    Worker,
)
from chipswitch.web.routes import ApiError, ApiState, router
from chipswitch.web.schemas import DecideRequest, ErrorBody

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_ROUTE = "/static/vendor/plotly.min.js"
DESCRIPTION = (
    "Predict LLM training step time, memory and cost on any accelerator, compare chips and "
    "decide whether a chip-tied investment is worth taking. Numbers are SI (seconds, bytes, "
    "FLOP/s, joules, USD); every answer matches the CLI's `--json` for the same inputs. "
    "Limits per request: GET /api/limits."
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


#: Names every server answers to: this machine's loopback names.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def plotly_js_path() -> Path | None:
    """plotly.min.js of the installed plotly package (the one the HTML report inlines)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class SecurityHeaders:
    """ASGI middleware: no sniffing, no framing, no referrer; a same-origin CSP on pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", CSP.encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _host_name(value: str) -> str:
    """A Host header or a configured name without its port, lowercased ('[::1]:8000' ->
    '[::1]'); a bare IPv6 address gets its brackets ('::1' -> '[::1]')."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    if value.count(":") > 1:
        return f"[{value}]"
    return value.split(":", 1)[0]


class HostCheck:
    """ASGI middleware: answer 400 to a request whose Host header is not an allowed name."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.allowed = {_host_name(h) for h in (*LOOPBACK_HOSTS, *allowed) if h != "*"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if _host_name(host) in self.allowed:
            await self.app(scope, receive, send)
            return
        shown = host[:100] or "(none)"
        resp = _error(
            400,
            f"Host header: '{shown}' is not a name this server answers to "
            f"({', '.join(sorted(self.allowed))}); start it with "
            "`chipswitch serve --allow-host NAME` to add one",
        )
        await resp(scope, receive, send)


def _problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error entries reduced to what JSON can carry: type, loc and msg (the
    offending input is dropped: it may be NaN or infinity, which JSON cannot encode)."""
    out = []
    for e in errors:
        loc = [p if isinstance(p, int | str) else str(p) for p in e.get("loc", ())]
        msg = str(e.get("msg", "invalid"))
        error = (e.get("ctx") or {}).get("error")
        if e.get("type") == "json_invalid" and error:
            msg = f"{msg}: {error}"
        out.append({"type": str(e.get("type", "invalid")), "loc": loc, "msg": msg})
    return out


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"detail": " ".join(detail.split())}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status)


def _install_handlers(app: FastAPI) -> None:
    """User errors become 4xx with one-line details, never 500."""

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _problems(exc.errors())
        lines = [".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in errors]
        return JSONResponse({"detail": errors, "problems": lines}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, RecursionError):
            return _error(422, "body: the JSON is nested too deeply")
        if exc.status_code == 400 and isinstance(cause, ValueError):  # not UTF-8, say
            return _error(422, f"body: not valid JSON ({type(cause).__name__}: {cause})")
        return await http_exception_handler(request, exc)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return _error(413, str(exc.detail), limit="max_body_bytes")

    @app.exception_handler(LimitError)
    async def _limit(_: Request, exc: LimitError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status == 429 else None
        resp = _error(exc.status, str(exc), limit=exc.limit)
        if headers:
            resp.headers.update(headers)
        return resp

    @app.exception_handler(UnknownNameError)
    async def _unknown(_: Request, exc: UnknownNameError) -> JSONResponse:
        return _error(422, str(exc), suggestions=exc.suggestions)

    @app.exception_handler(CatalogFileError)
    async def _file(_: Request, exc: CatalogFileError) -> JSONResponse:
        return _error(422, str(exc), problems=exc.problems)

    @app.exception_handler(ChipswitchError)
    async def _user(_: Request, exc: ChipswitchError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> JSONResponse:
        problems = format_validation_error(exc)
        return _error(422, "; ".join(problems), problems=problems)

    @app.exception_handler(yaml.YAMLError)
    async def _yaml(_: Request, exc: yaml.YAMLError) -> JSONResponse:
        return _error(422, f"invalid YAML ({getattr(exc, 'problem', None) or exc})")

    @app.exception_handler(RecursionError)
    async def _deep(_: Request, exc: RecursionError) -> JSONResponse:
        return _error(422, "the document is nested too deeply")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the schemas of bodies parsed by hand (decide) and of errors."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (DecideRequest, ErrorBody):
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        comps.update(js.pop("$defs", {}))
        comps[model.__name__] = js
    app.openapi_schema = schema
    return schema


def create_app(
    session: Session | None = None,
    limits: Limits | None = None,
    cors_origins: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
) -> FastAPI:
    """The dashboard and API over `session` (default: shipped catalog + $CHIPSWITCH_CATALOG).

    Requests are answered when addressed to a loopback name or one of `allowed_hosts` (host
    names or addresses, without port; "*" for any)."""
    session = session if session is not None else Session()
    lim = limits or Limits()
    worker = Worker(lim)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown()

    app = FastAPI(
        title="chipswitch",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.chipswitch = ApiState(session, lim, worker, LruCache(lim.cache_entries))
    app.include_router(router)
    _install_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    plotly_js = plotly_js_path()

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get(PLOTLY_ROUTE, include_in_schema=False)
    def plotly() -> Response:
        if plotly_js is None:
            return _error(404, "plotly.min.js not found in the installed plotly package")
        return FileResponse(
            plotly_js,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=lim.max_body_bytes)
    app.add_middleware(HostCheck, allowed=tuple(allowed_hosts))
    return app
