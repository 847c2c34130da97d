"""`chipswitch serve`: the web dashboard and HTTP API on this machine (uvicorn)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from chipswitch.cli.common import err_console, get_session
from chipswitch.errors import ChipswitchError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            metavar="ORIGIN",
            help="Allow browser pages from ORIGIN (e.g. http://localhost:3000) to call the API. "
            "Repeatable; closed by default.",
        ),
    ] = None,
    cache_entries: Annotated[
        int,
        typer.Option("--cache-entries", min=0, help="Plan/compare answers kept in memory."),
    ] = 256,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Also answer requests addressed to NAME (a host name or address clients use; "
            "'*' for any). Repeatable; by default only --host and loopback names.",
        ),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="uvicorn log level.")
    ] = "info",
) -> None:
    """Serve the dashboard at / and the HTTP API at /api (OpenAPI at /openapi.json)."""
    try:
        import uvicorn

        from chipswitch.web.app import create_app
        from chipswitch.web.limits import Limits
    except ImportError as exc:  # pragma: no cover - fastapi/uvicorn are dependencies
        raise ChipswitchError(f"the web server needs fastapi and uvicorn ({exc})") from None
    for origin in cors_origin or ():
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ChipswitchError(
                f"--cors-origin: '{origin}' is not an origin like https://example.org"
            )
    app = create_app(
        session=get_session(),
        limits=Limits(cache_entries=cache_entries),
        cors_origins=tuple(cors_origin or ()),
        allowed_hosts=(host, *(allow_host or ())),
    )
    if host not in LOOPBACK:
        err_console.print(
            f"[yellow]note:[/] listening on {host}: anyone who can reach it can use the API "
            "(it has no authentication)"
        )
        if host in ("0.0.0.0", "::") and not allow_host:
            err_console.print(
                "[yellow]note:[/] requests are answered only when addressed to a loopback name; "
                "add --allow-host NAME for each name or address clients use"
            )
    shown = f"[{host}]" if ":" in host else host
    err_console.print(f"chipswitch dashboard on http://{shown}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
