"""The client commands of ``dalston``: everything the server does, through the
Python SDK (``dalston_sdk``). ``--json`` prints what the server answered, for
scripts; otherwise tables and progress go to a terminal, transcripts to stdout."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from dalston_sdk import (
    AuthenticationError,
    ConnectionError,
    Dalston,
    DalstonError,
    Final,
    Job,
    NotFoundError,
    Partial,
    PermissionDeniedError,
    RateLimitError,
    SessionEnd,
    WarningEvent,
)
from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from dalston.cli.config import ConfigError, Target, resolve

# Messages keep their lines whole (soft wrap): a log or a pipe gets them unbroken.
err = Console(stderr=True, soft_wrap=True)
out = Console()

# --- options every client command takes -----------------------------------------------

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="DALSTON_SERVER",
        help="Base URL of the server [default: config file, else "
        "http://127.0.0.1:8000].",
        show_default=False,
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="DALSTON_API_KEY",
        help="A dk_ API key [default: config file, else a local server's admin key].",
        show_default=False,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="DALSTON_PROFILE",
        help="A [profiles.NAME] table of the config file.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the server's JSON instead of a table.")
]


class Fmt(StrEnum):
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"


class Speakers(StrEnum):
    NONE = "none"
    DIARIZE = "diarize"
    PER_CHANNEL = "per-channel"


class Timestamps(StrEnum):
    NONE = "none"
    SEGMENT = "segment"
    WORD = "word"


class RedactionMode(StrEnum):
    SILENCE = "silence"
    BEEP = "beep"


def _fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    err.print(f"[red]{message}[/]")
    if hint:
        err.print(hint)
    raise typer.Exit(code)


@contextmanager
def connect(
    server: str | None, api_key: str | None, profile: str | None
) -> Iterator[Dalston]:
    """A client for the command, and SDK errors turned into messages that say
    what to do."""
    try:
        target = resolve(server, api_key, profile)
    except ConfigError as exc:
        _fail(str(exc), code=2)
    client = Dalston(target.server, target.api_key)
    try:
        yield client
    except DalstonError as exc:
        _explain(exc, target)
    finally:
        client.close()


def _explain(exc: DalstonError, target: Target) -> NoReturn:
    if isinstance(exc, ConnectionError):
        _fail(
            f"Cannot reach a Dalston server at {target.server}: {exc.message}",
            "Start one with `dalston serve`, or point --server / DALSTON_SERVER "
            "(or `server` in the config file) at yours.",
            code=2,
        )
    status = f"HTTP {exc.status_code}: " if exc.status_code else ""
    hint = None
    if isinstance(exc, AuthenticationError):
        hint = (
            "Pass a valid key with --api-key or DALSTON_API_KEY (or `api_key` in "
            f"the config file); the key used came from {target.key_source}. A local "
            "server prints its admin key at first start and keeps it in its data "
            "folder (admin_key)."
        )
    elif isinstance(exc, PermissionDeniedError):
        hint = (
            "This key lacks the scope: create one that has it with an admin key "
            "(`dalston keys create NAME --scope ...`)."
        )
    elif isinstance(exc, RateLimitError) and exc.retry_after is not None:
        hint = f"Rate limited: try again in {exc.retry_after:.0f} s."
    _fail(f"{status}{exc.message}", hint)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _dump(model: Any) -> Any:
    if isinstance(model, list):
        return [_dump(m) for m in model]
    return model.model_dump(mode="json", exclude_none=True)


def _table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _seconds(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else ""


# --- transcribe -----------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    app.command()(transcribe)
    app.command()(listen)
    app.command("export")(export)
    app.command()(engines)
    app.command()(status)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(sessions_app, name="sessions")
    app.add_typer(models_app, name="models")
    app.add_typer(keys_app, name="keys")


def transcribe(
    files: Annotated[
        list[Path] | None,
        typer.Argument(exists=True, dir_okay=False, readable=True, show_default=False),
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="Audio URL the server fetches (repeatable)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model id (`dalston models list`), or auto.")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Language code, or auto.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name of the job.")] = None,
    speakers: Annotated[Speakers | None, typer.Option(help="Who spoke when.")] = None,
    num_speakers: Annotated[int | None, typer.Option(min=1, max=32)] = None,
    min_speakers: Annotated[int | None, typer.Option(min=1, max=32)] = None,
    max_speakers: Annotated[int | None, typer.Option(min=1, max=32)] = None,
    timestamps: Annotated[
        Timestamps | None, typer.Option(help="Timestamp granularity.")
    ] = None,
    vocabulary: Annotated[
        list[str] | None, typer.Option("--vocab", help="A term to favour (repeatable).")
    ] = None,
    pii: Annotated[bool, typer.Option("--pii", help="Detect PII entities.")] = False,
    pii_entity: Annotated[
        list[str] | None,
        typer.Option("--pii-entity", help="PII entity type to look for (repeatable)."),
    ] = None,
    redact_audio: Annotated[
        bool, typer.Option("--redact-audio", help="Also produce redacted audio.")
    ] = False,
    redaction_mode: Annotated[RedactionMode | None, typer.Option()] = None,
    retention: Annotated[
        int | None,
        typer.Option(help="Days to keep (0: delete after delivery, -1: keep)."),
    ] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help="Called when the job ends.")
    ] = None,
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.TXT,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write here, not stdout; a folder with several inputs.",
        ),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Print the job ids and return.")
    ] = False,
    as_json: JsonOpt = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait per job.")] = 3600,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Transcribe FILES (and --url addresses): upload with a progress bar, wait
    for each job, print or write the transcript."""
    inputs: list[Path | str] = [*(files or []), *(url or [])]
    if not inputs:
        _fail("Nothing to transcribe: give files, or --url.", code=2)
    several = len(inputs) > 1
    if several and output is not None and output.exists() and not output.is_dir():
        _fail(
            f"With several inputs, --output must be a folder ({output} is a file).",
            code=2,
        )
    fields: dict[str, Any] = {
        "model": model,
        "language": language,
        "name": name,
        "speaker_detection": speakers.value.replace("-", "_") if speakers else None,
        "num_speakers": num_speakers,
        "min_speakers": min_speakers,
        "max_speakers": max_speakers,
        "timestamps_granularity": timestamps.value if timestamps else None,
        "vocabulary": vocabulary or None,
        "pii_detection": True if pii or pii_entity or redact_audio else None,
        "pii_entity_types": pii_entity or None,
        "redact_pii_audio": True if redact_audio else None,
        "pii_redaction_mode": redaction_mode.value if redaction_mode else None,
        "retention": retention,
        "webhook_url": webhook_url,
    }
    failed = 0
    created: list[Job] = []
    with connect(server, api_key, profile) as client:
        for item in inputs:
            job = _submit(client, item, fields)
            created.append(job)
        if no_wait:
            if as_json:
                _print_json(_dump(created))
            else:
                for job in created:
                    typer.echo(job.id)
            return
        finished = [_wait_with_progress(client, job, timeout) for job in created]
        if as_json:
            _print_json(_dump(finished))
        for item, job in zip(inputs, finished, strict=True):
            label = item.name if isinstance(item, Path) else item
            if job.status != "completed":
                failed += 1
                err.print(
                    f"[red]{label}: job {job.id} {job.status}:[/] {job.error or ''}"
                )
                continue
            if as_json:
                continue
            text = client.export(job.id, fmt.value)
            _write(text, item, output, fmt, several)
    if failed:
        raise typer.Exit(1)


def _submit(client: Dalston, item: Path | str, fields: dict[str, Any]) -> Job:
    if isinstance(item, str):
        return client.transcribe(audio_url=item, wait=False, **fields)
    size = item.stat().st_size
    with Progress(
        TextColumn("[bold]upload {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(item.name, total=size)

        def _sent(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total or size)

        return client.transcribe(item, wait=False, on_upload_progress=_sent, **fields)


# How often a waiting command refreshes its progress bar.
_REFRESH_S = 1.0


def _wait_with_progress(client: Dalston, job: Job, timeout: float) -> Job:
    """Follow the job, showing its stages (and the share of audio done, where the
    server reports it): a request a second, each held by the server until the job
    finishes or the second is up (``get_job(wait=)``), so the end shows at once."""
    deadline = time.monotonic() + timeout
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        bar = progress.add_task(f"job {job.id[:8]}", total=None, stage=job.status)
        while True:
            asked = time.monotonic()
            job = client.get_job(job.id, wait=_REFRESH_S)
            stages = job.stages
            done = sum(1 for s in stages if s.status in ("succeeded", "skipped"))
            current = next(
                (s.stage for s in stages if s.status in ("queued", "running")),
                job.status,
            )
            if job.progress is not None:  # the share of the audio transcribed
                progress.update(bar, total=1.0, completed=job.progress, stage=current)
            else:
                progress.update(
                    bar, total=len(stages) or None, completed=done, stage=current
                )
            if job.done:
                return job
            if time.monotonic() > deadline:
                _fail(
                    f"Gave up waiting for job {job.id} after {timeout:.0f} s "
                    f"(`dalston jobs wait {job.id}` goes on waiting)."
                )
            # A server that does not hold requests answered at once.
            time.sleep(max(_REFRESH_S - (time.monotonic() - asked), 0.0))


def _write(
    text: str, item: Path | str, output: Path | None, fmt: Fmt, several: bool
) -> None:
    if output is None:
        if several:
            label = item.name if isinstance(item, Path) else item
            err.print(f"[bold]== {label}[/]")
        typer.echo(text, nl=not text.endswith("\n"))
        return
    target = output
    if several or output.is_dir():
        output.mkdir(parents=True, exist_ok=True)
        stem = (
            item.stem
            if isinstance(item, Path)
            else Path(item.split("?")[0]).stem or "audio"
        )
        target = output / f"{stem}.{fmt.value}"
    target.write_text(text)
    err.print(f"Wrote {target}")


# --- listen ---------------------------------------------------------------------------


def listen(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            help="Stream this audio file at real-time pace instead of the microphone.",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option()] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="With --file: send as fast as it is taken.")
    ] = False,
    word_timestamps: Annotated[bool, typer.Option("--words")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Each final as a JSON line.")
    ] = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Live transcription from the microphone (or --file). On a terminal the
    partials show as they come; otherwise only finals are printed, one a line."""
    live_terminal = out.is_terminal and not as_json
    pcm = _decode_file(file) if file is not None else b""
    with connect(server, api_key, profile) as client:
        session = client.realtime(
            model=model,
            language=language,
            interim_results=live_terminal,
            word_timestamps=word_timestamps or None,
        )
        with session:
            if file is not None:
                events = session.stream(_chunks(pcm), realtime=not fast)
            else:
                events = session.stream(_microphone())
                err.print("Listening (Ctrl-C to stop)...")
            try:
                _show(events, live_terminal, as_json)
            except KeyboardInterrupt:
                session.end()


def _decode_file(path: Path) -> bytes:
    """Any audio file the server would take, as 16 kHz mono 16-bit PCM."""
    import numpy as np

    from dalston.audio.decode import decode_to_mono

    try:
        samples, _ = decode_to_mono(path, 16000)
    except Exception as exc:  # PyAV's many errors: not audio, cut short, ...
        _fail(f"Cannot read {path} as audio: {exc}", code=2)
    return bytes((np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


def _chunks(pcm: bytes, chunk_s: float = 0.1) -> Iterator[bytes]:
    step = int(16000 * chunk_s) * 2
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]


def _microphone() -> Iterator[bytes]:
    from dalston_sdk import microphone_chunks

    try:
        yield from microphone_chunks()
    except (ImportError, OSError) as exc:
        _fail(
            f"No microphone: {exc}",
            "Install sounddevice (pip install 'dalston-sdk[mic]') on a machine with "
            "a sound device, or stream a file with --file.",
        )


def _show(events: Iterator[Any], live_terminal: bool, as_json: bool) -> None:
    if not live_terminal:
        for event in events:
            if isinstance(event, Final) and event.text.strip():
                if as_json:
                    typer.echo(json.dumps(_dump(event)))
                else:
                    typer.echo(event.text.strip())
            elif isinstance(event, WarningEvent):
                err.print(f"[yellow]warning: {event.model_dump(exclude_none=True)}[/]")
        return
    with Live(Text(""), console=out, transient=True, refresh_per_second=8) as live:
        for event in events:
            if isinstance(event, Partial):
                live.update(Text(event.text.strip(), style="dim"))
            elif isinstance(event, Final):
                live.update(Text(""))
                if event.text.strip():
                    live.console.print(event.text.strip())
            elif isinstance(event, WarningEvent):
                live.console.print(
                    f"[yellow]warning: {event.model_dump(exclude_none=True)}[/]"
                )
            elif isinstance(event, SessionEnd):
                break


# --- jobs, export ---------------------------------------------------------------------

jobs_app = typer.Typer(
    help="Batch jobs: list, inspect, wait, cancel, delete.", no_args_is_help=True
)


@jobs_app.command("list")
def jobs_list(
    status_: Annotated[
        str | None, typer.Option("--status", help="Only this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many (newest first).")] = 20,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """The newest jobs (cursors followed up to --limit)."""
    with connect(server, api_key, profile) as client:
        jobs = []
        for job in client.iter_jobs(status=status_, page_size=min(limit, 100)):
            jobs.append(job)
            if len(jobs) >= limit:
                break
    if as_json:
        _print_json(_dump(jobs))
        return
    _table(
        None,
        ["id", "status", "name", "model", "created", "audio s", "language"],
        [
            [
                j.id,
                j.status,
                j.display_name,
                j.model,
                _when(j.created_at),
                _seconds(j.audio_duration_seconds),
                j.language_code,
            ]
            for j in jobs
        ],
    )


@jobs_app.command("get")
def jobs_get(
    job_id: str,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """One job: its state, stages and (once completed) transcript."""
    with connect(server, api_key, profile) as client:
        job = client.get_job(job_id)
    if as_json:
        _print_json(_dump(job))
        return
    _show_job(job)


def _show_job(job: Job) -> None:
    out.print(f"[bold]{job.id}[/]  {job.status}  {job.display_name or ''}")
    out.print(
        f"model {job.model}  language {job.language_code or '-'}  "
        f"audio {_seconds(job.audio_duration_seconds) or '-'} s"
    )
    if job.error:
        out.print(f"[red]{job.error}[/]")
    if job.stages:
        _table(
            None,
            ["stage", "engine", "status", "ms", "retries", "error"],
            [
                [s.stage, s.engine_id, s.status, s.duration_ms, s.retries, s.error]
                for s in job.stages
            ],
        )
    if job.text:
        out.print(job.text)


@jobs_app.command("wait")
def jobs_wait(
    job_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds.")] = 3600,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Wait for a job to end; exit 1 unless it completed."""
    with connect(server, api_key, profile) as client:
        job = _wait_with_progress(client, client.get_job(job_id), timeout)
    if as_json:
        _print_json(_dump(job))
    else:
        typer.echo(f"{job.id} {job.status}")
    if job.status != "completed":
        raise typer.Exit(1)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: str,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Cancel a pending or running job."""
    with connect(server, api_key, profile) as client:
        job = client.cancel(job_id)
    typer.echo(f"{job.id} {job.status}")


@jobs_app.command("delete")
def jobs_delete(
    job_id: str,
    audio_only: Annotated[
        bool,
        typer.Option("--audio-only", help="Delete the audio, keep the transcript."),
    ] = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Delete a finished job (or only its audio)."""
    with connect(server, api_key, profile) as client:
        if audio_only:
            client.delete_audio(job_id)
        else:
            client.delete(job_id)
    typer.echo(f"deleted {job_id}" + (" audio" if audio_only else ""))


def export(
    job_id: str,
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.TXT,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    speakers: Annotated[
        bool | None, typer.Option("--speakers/--no-speakers", help="Speaker labels.")
    ] = None,
    max_line_length: Annotated[int | None, typer.Option(min=10)] = None,
    max_lines: Annotated[int | None, typer.Option(min=1)] = None,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """A completed job's transcript as txt, srt, vtt or json."""
    with connect(server, api_key, profile) as client:
        text = client.export(
            job_id,
            fmt.value,
            include_speakers=speakers,
            max_line_length=max_line_length,
            max_lines=max_lines,
        )
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text)
        err.print(f"Wrote {output}")


# --- sessions -------------------------------------------------------------------------

sessions_app = typer.Typer(
    help="Realtime sessions: list, inspect, export, delete.", no_args_is_help=True
)


@sessions_app.command("list")
def sessions_list(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """The newest realtime sessions."""
    with connect(server, api_key, profile) as client:
        sessions = []
        for session in client.iter_sessions(page_size=min(limit, 100)):
            sessions.append(session)
            if len(sessions) >= limit:
                break
    if as_json:
        _print_json(_dump(sessions))
        return
    _table(
        None,
        ["id", "status", "protocol", "model", "started", "audio s", "audio kept"],
        [
            [
                s.id,
                s.status,
                s.protocol,
                s.model,
                _when(s.started_at),
                _seconds(s.audio_seconds),
                s.has_audio,
            ]
            for s in sessions
        ],
    )


@sessions_app.command("get")
def sessions_get(
    session_id: str,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """One session and its transcript."""
    with connect(server, api_key, profile) as client:
        session = client.get_session(session_id)
    if as_json:
        _print_json(_dump(session))
        return
    out.print(f"[bold]{session.id}[/]  {session.status}  {session.protocol or ''}")
    out.print(f"model {session.model}  audio {_seconds(session.audio_seconds)} s")
    if session.transcript:
        out.print(session.transcript)


@sessions_app.command("export")
def sessions_export(
    session_id: str,
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.TXT,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """A session's transcript as txt, srt, vtt or json."""
    with connect(server, api_key, profile) as client:
        text = client.export_session(session_id, fmt.value)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text)
        err.print(f"Wrote {output}")


@sessions_app.command("delete")
def sessions_delete(
    session_id: str,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Delete a session's record, transcript and audio."""
    with connect(server, api_key, profile) as client:
        client.delete_session(session_id)
    typer.echo(f"deleted {session_id}")


# --- models, engines, status ----------------------------------------------------------

models_app = typer.Typer(
    help="Models: list, download from the hub, remove.", no_args_is_help=True
)


def _size(n: int | None) -> str:
    if not n:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return ""  # pragma: no cover


def _share(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, int | float) else ""


@models_app.command("list")
def models_list(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Every model the server knows, and whether it is ready."""
    with connect(server, api_key, profile) as client:
        models = client.list_models()
    if as_json:
        _print_json(_dump(models))
        return
    _table(
        None,
        ["id", "stage", "status", "languages", "size", "source"],
        [
            [
                m.id,
                m.stage,
                m.status,
                "any" if m.languages is None else ",".join(m.languages[:6]),
                _size(m.size_bytes),
                m.source,
            ]
            for m in models
        ],
    )


@models_app.command("pull")
def models_pull(
    model_id: str,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the download.")
    ] = True,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Download a hub model onto the server (admin key)."""
    with connect(server, api_key, profile) as client:
        model = client.pull_model(model_id)
        while wait and model.status in ("downloading", "loading", "queued"):
            extra = model.model_extra or {}
            err.print(
                f"{model_id}: {model.status} "
                + (
                    f"{float(extra['download_progress']):.0%}"
                    if extra.get("download_progress") is not None
                    else ""
                ),
            )
            time.sleep(1.0)
            model = client.get_model(model_id)
    if as_json:
        _print_json(_dump(model))
    else:
        typer.echo(f"{model.id} {model.status}")
    if model.status == "failed":
        raise typer.Exit(1)


@models_app.command("rm")
def models_rm(
    model_id: str,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Remove a hub model's downloaded weights from the server (admin key)."""
    with connect(server, api_key, profile) as client:
        client.delete_model(model_id)
    typer.echo(f"removed {model_id}")


def engines(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """The engine workers and what they have loaded."""
    with connect(server, api_key, profile) as client:
        found = client.list_engines()
    if as_json:
        _print_json(_dump(found))
        return
    _table(
        None,
        ["engine", "stage", "status", "loaded model", "active/capacity", "host"],
        [
            [
                e.engine_id or e.id,
                e.stage,
                e.status,
                e.loaded_model,
                f"{e.active or 0}/{e.capacity or 0}",
                e.host,
            ]
            for e in found
        ],
    )


def status(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """The server at a glance: health, jobs today, realtime capacity."""
    with connect(server, api_key, profile) as client:
        health = client.health()
        realtime = client.realtime_status()
        me = client.me()
        try:
            stats: Any = client.job_stats()
        except NotFoundError:  # a server without /v1/jobs/stats
            stats = None
    data = {
        "server": client.base_url,
        "health": health,
        "key": _dump(me),
        "realtime": _dump(realtime),
        "jobs": _dump(stats) if stats is not None else None,
    }
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{client.base_url}[/]  {health.get('status', health)}")
    out.print(
        f"key {me.key_id or '-'}  tenant {me.tenant_id}  scopes {' '.join(me.scopes)}"
    )
    out.print(
        f"realtime {realtime.status}: {realtime.active}/{realtime.capacity} sessions, "
        f"{realtime.workers} workers"
    )
    if stats is not None:
        out.print(
            f"jobs: {stats.running} running, {stats.queued} queued, "
            f"{stats.completed_today} completed and {stats.failed_today} failed today"
        )


# --- keys -----------------------------------------------------------------------------

keys_app = typer.Typer(
    help="API keys (admin): create, list, revoke.", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    name: str,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="jobs:read, jobs:write, realtime, webhooks, admin (repeatable).",
        ),
    ] = None,
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601 expiry.")] = None,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Create a key; its secret is printed once."""
    with connect(server, api_key, profile) as client:
        created = client.create_key(
            name, scopes=scope or None, rate_limit=rate_limit, expires_at=expires_at
        )
    if as_json:
        _print_json(_dump(created))
        return
    typer.echo(created.key)
    err.print(f"key {created.id} ({', '.join(created.scopes)}): shown once, keep it")


@keys_app.command("list")
def keys_list(
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """The tenant's keys (secrets are never shown again)."""
    with connect(server, api_key, profile) as client:
        keys = client.list_keys()
    if as_json:
        _print_json(_dump(keys))
        return
    _table(
        None,
        ["id", "name", "prefix", "scopes", "created", "last used", "revoked"],
        [
            [
                k.id,
                k.name,
                k.prefix,
                " ".join(k.scopes),
                _when(k.created_at),
                _when(k.last_used_at),
                _when(k.revoked_at),
            ]
            for k in keys
        ],
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: str,
    server: ServerOpt = None,
    api_key: KeyOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Revoke a key: it stops working at once."""
    with connect(server, api_key, profile) as client:
        client.revoke_key(key_id)
    typer.echo(f"revoked {key_id}")
