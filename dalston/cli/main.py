"""The ``dalston`` command: run the server, transcribe files against one."""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from dalston.cli import client
from dalston.engine_sdk.registry import ENGINE_CLASSES

app = typer.Typer(help="Dalston: self-hosted speech-to-text.", no_args_is_help=True)
err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind [default: DALSTON_HOST].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: DALSTON_PORT].")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the embedded server: API, orchestrator and engines in one process."""
    import uvicorn

    from dalston.config import Settings
    from dalston.gateway import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _exit_if_data_in_use(settings)
    pid_file = settings.data_dir / "server.pid"  # for `make stop`
    pid_file.write_text(str(os.getpid()))
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            **_uvicorn_options(settings),
        )
    finally:
        pid_file.unlink(missing_ok=True)


def _exit_if_data_in_use(settings: Any) -> None:
    """Say so and stop when another embedded server runs on this database (the
    runtime refuses it anyway, but only after uvicorn started and with a
    traceback; and this one's pid file would replace the other's)."""
    import asyncio

    from dalston.db.instance import in_use

    if settings.redis_url:
        return  # a durable queue: no re-dispatch at start (``db.instance``)
    refused = asyncio.run(in_use(settings.resolved_database_url))
    if refused is not None:
        err.print(f"[red]{refused}[/red]")
        raise typer.Exit(1)


def _uvicorn_options(settings: Any) -> dict[str, Any]:
    """What every HTTP server of ours runs uvicorn with. JSON logs: uvicorn keeps
    no format of its own; its loggers propagate to the root handler
    ``dalston.telemetry.configure_logging`` installs."""
    from dalston.gateway.connections import http_protocol

    return {
        "timeout_graceful_shutdown": 10,
        "http": http_protocol(settings.request_header_timeout_s),
        **({"log_config": None} if settings.log_format == "json" else {}),
    }


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Distributed mode: the HTTP / WebSocket API (and realtime sessions) only."""
    _serve_http("gateway", host, port, log_level)


def _serve_http(role_name: str, host: str | None, port: int | None, level: str) -> None:
    import uvicorn

    from dalston.config import Settings
    from dalston.gateway import create_app
    from dalston.runtime import Role

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    role = Role.gateway() if role_name == "gateway" else Role.realtime_worker()
    uvicorn.run(
        create_app(settings, role),
        host=settings.host,
        port=settings.port,
        log_level=level,
        **_uvicorn_options(settings),
    )


@app.command("realtime-worker")
def realtime_worker(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Distributed mode: serve live sessions that gateways place here."""
    _serve_http("realtime_worker", host, port, log_level)


@app.command()
def orchestrator() -> None:
    """Distributed mode: apply task events, dispatch stages, recover jobs."""
    _run_role()


@app.command()
def worker(
    engine: Annotated[
        str,
        typer.Option(help="Engine id: " + ", ".join(ENGINE_CLASSES)),
    ],
) -> None:
    """Distributed mode: serve one batch engine from the Redis queue."""
    _run_role(engine)


def _run_role(engine: str | None = None) -> None:
    import asyncio

    from dalston import telemetry
    from dalston.config import Settings
    from dalston.engine_sdk.registry import ENGINE_CLASSES
    from dalston.errors import DalstonError
    from dalston.runtime import Role, Runtime

    settings = Settings()
    telemetry.configure_logging(settings.log_format)
    telemetry.setup_tracing(f"dalston-worker-{engine}" if engine else "dalston-orch")
    if engine is not None and engine not in ENGINE_CLASSES:
        err.print(f"[red]Unknown engine {engine!r}; known: {', '.join(ENGINE_CLASSES)}")
        raise typer.Exit(2)
    role = Role.worker(engine) if engine else Role.orchestrator_only()
    try:
        runtime = Runtime.build(settings, role)
    except DalstonError as exc:
        err.print(f"[red]{exc.message}")
        raise typer.Exit(2) from None
    telemetry.serve_metrics(settings.metrics_port)
    try:
        asyncio.run(runtime.run_until_stopped())
    finally:
        telemetry.shutdown_tracing()


@app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL, or the embedded SQLite) to the newest
    schema, then exit. Every role also does this at start, under a lock."""
    import asyncio

    from dalston.config import Settings
    from dalston.db.migrate import upgrade_to_head
    from dalston.db.session import create_engine

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def _run() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    asyncio.run(_run())
    err.print("database at the newest schema")


@app.command()
def healthcheck(
    url: Annotated[
        str | None,
        typer.Option(help="GET this URL (an HTTP role's /health); exit 0 on 2xx."),
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="A worker or orchestrator: a queue consumer of this host is alive "
            "in Redis (REDIS_URL, DALSTON_REDIS_PREFIX).",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds before giving up.")] = 4.0,
) -> None:
    """Exit 0 if this container's role is healthy, 1 if not (Docker, Kubernetes)."""
    if (url is None) == (not queue):
        err.print("[red]Give exactly one of --url and --queue.")
        raise typer.Exit(2)
    if url is not None:
        try:
            healthy = httpx.get(url, timeout=timeout).is_success
        except httpx.HTTPError as exc:
            err.print(f"[red]{url}: {exc}")
            raise typer.Exit(1) from None
        raise typer.Exit(0 if healthy else 1)
    import asyncio
    import socket

    from dalston.config import Settings
    from dalston.queue.redis_streams import consumer_alive_on_host

    settings = Settings()
    if not settings.redis_url:
        err.print("[red]--queue needs REDIS_URL (distributed mode).")
        raise typer.Exit(2)
    try:
        alive = asyncio.run(
            asyncio.wait_for(
                consumer_alive_on_host(
                    settings.redis_url, settings.redis_prefix, socket.gethostname()
                ),
                timeout,
            )
        )
    except Exception as exc:  # any failure to ask Redis: not healthy
        err.print(f"[red]Redis: {exc!r}")
        raise typer.Exit(1) from None
    if not alive:
        err.print(f"[red]No live queue consumer on {socket.gethostname()}.")
    raise typer.Exit(0 if alive else 1)


# The client commands (transcribe, listen, jobs, export, sessions, models, engines,
# status, keys), on the Python SDK.
client.register(app)


if __name__ == "__main__":
    app()
