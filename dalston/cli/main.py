"""The ``dalston`` command: run the server, transcribe files against one."""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from dalston.engine_sdk.registry import ENGINE_CLASSES

app = typer.Typer(help="Dalston: self-hosted speech-to-text.", no_args_is_help=True)
err = Console(stderr=True)

_TERMINAL = {"completed", "failed", "cancelled"}


class OutputFormat(StrEnum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"


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
    pid_file = settings.data_dir / "server.pid"  # for `make stop`
    pid_file.write_text(str(os.getpid()))
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            timeout_graceful_shutdown=10,
        )
    finally:
        pid_file.unlink(missing_ok=True)


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
        timeout_graceful_shutdown=10,
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
    import logging

    from dalston.config import Settings
    from dalston.engine_sdk.registry import ENGINE_CLASSES
    from dalston.errors import DalstonError
    from dalston.runtime import Role, Runtime

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if engine is not None and engine not in ENGINE_CLASSES:
        err.print(f"[red]Unknown engine {engine!r}; known: {', '.join(ENGINE_CLASSES)}")
        raise typer.Exit(2)
    role = Role.worker(engine) if engine else Role.orchestrator_only()
    try:
        runtime = Runtime.build(Settings(), role)
    except DalstonError as exc:
        err.print(f"[red]{exc.message}")
        raise typer.Exit(2) from None
    asyncio.run(runtime.run_until_stopped())


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


def _default_key(server: str) -> str | None:
    """DALSTON_API_KEY, else the admin key file of a local embedded server."""
    if key := os.environ.get("DALSTON_API_KEY"):
        return key
    if server.startswith(("http://127.0.0.1", "http://localhost")):
        from dalston.config import Settings

        path = Settings().admin_key_file
        if path.is_file():
            return path.read_text().strip()
    return None


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[
        str | None, typer.Option(help="Model id (GET /v1/models).")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Language code, or auto.")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.TXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")
    ] = None,
    server: Annotated[
        str, typer.Option(envvar="DALSTON_SERVER", help="Base URL of the server.")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="DALSTON_API_KEY", help="A dk_ API key.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the job.")] = 3600,
) -> None:
    """Upload FILE, wait for the job with a progress display, print the transcript."""
    key = api_key or _default_key(server)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = {k: v for k, v in {"model": model, "language": language}.items() if v}
    with httpx.Client(base_url=server, headers=headers, timeout=60) as client:
        try:
            with file.open("rb") as audio:
                created = client.post(
                    "/v1/audio/transcriptions",
                    files={"file": (file.name, audio)},
                    data=data,
                )
        except httpx.ConnectError:
            err.print(
                f"[red]Cannot reach a Dalston server at {server}[/] (dalston serve?)"
            )
            raise typer.Exit(2) from None
        _check(created)
        job_id = created.json()["id"]
        status = _wait(client, job_id, timeout)
        if status["status"] != "completed":
            err.print(f"[red]Job {job_id} {status['status']}:[/] {status.get('error')}")
            raise typer.Exit(1)
        exported = client.get(f"/v1/audio/transcriptions/{job_id}/export/{fmt.value}")
        _check(exported)
    if output:
        output.write_text(exported.text)
        err.print(f"Wrote {output}")
    else:
        typer.echo(exported.text, nl=False)


def _wait(client: httpx.Client, job_id: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        bar = progress.add_task(f"job {job_id[:8]}", total=None, stage="pending")
        while True:
            response = client.get(f"/v1/audio/transcriptions/{job_id}")
            _check(response)
            body: dict[str, object] = response.json()
            stages = body.get("stages") or []
            assert isinstance(stages, list)
            done = sum(1 for s in stages if s["status"] == "succeeded")
            current = next(
                (s["stage"] for s in stages if s["status"] in ("queued", "running")),
                str(body["status"]),
            )
            progress.update(
                bar, total=len(stages) or None, completed=done, stage=current
            )
            if body["status"] in _TERMINAL:
                return body
            if time.monotonic() > deadline:
                err.print(
                    f"[red]Gave up waiting for job {job_id} after {timeout:.0f} s"
                )
                raise typer.Exit(1)
            time.sleep(0.5)


def _check(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    err.print(f"[red]HTTP {response.status_code}:[/] {message}")
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
