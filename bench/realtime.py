"""Realtime streaming benchmark: latency, lag, WER and memory of the native WebSocket.

Run from the repository root::

    .venv/bin/python bench/realtime.py [--streams 1,2,4,8] [--files 3] [--output o.json]

Prints one JSON object (see bench/README.md). For each N in ``--streams`` a fresh
``dalston serve`` is started (capacity N, ``--threads`` inference threads,
``--beam``), warmed with one short stream, then N clients stream different English
corpus clips at the same time over ``WS /v1/audio/transcriptions/stream``, each a
session of ``--files`` clips, every clip followed by 1.5 s of silence, sent at real-time
pace in 100 ms frames by ``tests.realtime_client.stream``.

All latencies are measured on the client: the server's times on its events
(``vad.speech_start``/``vad.speech_end`` timestamps, a partial's ``end``) are audio
positions in the session, which map to the wall time at which this client sent the
frame holding that audio (recorded per frame), and are compared with the arrival
time of the answer. Per utterance (one ``vad.speech_start`` ... ``vad.speech_end`` +
``transcript.final``):

- ``first_partial``: frame holding the ``vad.speech_start`` timestamp sent -> first
  ``transcript.partial`` of the utterance arrives.
- ``final_from_speech_end_ts``: frame holding the ``vad.speech_end`` timestamp sent ->
  ``transcript.final`` arrives (what the server's internal ``latency_s`` measures).
  That timestamp is the last speech window plus the session's 0.15 s tail, and the
  VAD only decides after 16 quiet windows (0.512 s), so this includes about 0.36 s
  of waiting for silence.
- ``final_from_vad_decision``: frame holding the audio at which the VAD could decide
  (last speech window + 0.512 s) sent -> final arrives: backlog + decode + transport.
- ``final_after_speech_end_event``: ``vad.speech_end`` message arrives -> final
  arrives (the final's decode alone; the server sends them back to back).
- ``final_from_last_speech``: frame holding the end of the last speech window sent ->
  final arrives: what a speaker waits after they stop talking, VAD silence included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import csv
import functools
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import httpx
import numpy as np
import websockets
from websockets.asyncio.client import ClientConnection

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/realtime.py` puts bench/ first
    sys.path.insert(0, str(REPO))

import tests.realtime_client as rt_client  # noqa: E402
from dalston.audio import SAMPLE_RATE, decode_to_mono  # noqa: E402
from dalston.config import Settings  # noqa: E402
from dalston.eval.scoring import wer  # noqa: E402
from dalston.realtime_sdk.session import _TAIL_S, SessionConfig  # noqa: E402
from dalston.realtime_sdk.vad import WINDOW  # noqa: E402
from tests.realtime_client import pcm16  # noqa: E402
from tests.server import (  # noqa: E402
    ServerProcess,
    peak_rss_mb,
    submit,
    wait_for_job,
)

DEFAULT_CORPUS = Path("/work/shared/corpus")
FALLBACK_DATA = REPO / "tests" / "data"
# Whisper's normalizer turns this digit string into one number: WER is meaningless.
SKIP_CASES = {"sphinx4_digits_10001_90210_01803"}
CHUNK_S = 0.1
CHUNK_SAMPLES = int(CHUNK_S * SAMPLE_RATE)
TRAILING_SILENCE_S = 1.5
# When the VAD decides an utterance ended, relative to the vad.speech_end timestamp:
# the timestamp is (last speech window end + tail); the decision comes once the
# quiet run reaches silence_s, counted in whole windows.
_SILENCE_RUN_S = (
    math.ceil(SessionConfig.silence_s * SAMPLE_RATE / WINDOW) * WINDOW / SAMPLE_RATE
)
DECISION_AFTER_END_TS_S = _SILENCE_RUN_S - _TAIL_S
LAST_SPEECH_BEFORE_END_TS_S = _TAIL_S
# A session whose finals (after the VAD decision) come this much later in its second
# half than in its first is falling behind.
LAG_GROWTH_S = 0.25
TARGET_N1_FINAL_P50_S = 0.300
TARGET_N1_FINAL_P95_S = 0.600
TARGET_N1_FIRST_PARTIAL_P50_S = 0.600
TARGET_N4_STREAMS = 4
TARGET_N4_FINAL_P95_S = 0.500  # from the VAD decision
TARGET_NO_LAG_STREAMS = 8


@dataclass
class Clip:
    name: str
    path: Path
    duration_s: float
    reference: str


@dataclass
class StreamResult:
    index: int
    clips: list[Clip]
    audio_s: float
    messages: list[tuple[float, dict[str, Any]]]  # arrival (s since first frame)
    sends: list[float]  # frame i sent (s since first frame)
    close_code: int | None
    error: str | None = None


@dataclass
class Utterance:
    stream: int
    start_ts: float | None = None
    end_ts: float | None = None
    first_partial_s: float | None = None
    end_event_at: float | None = None
    final_at: float | None = None
    text: str = ""
    latencies: dict[str, float] = field(default_factory=dict)


# --- corpus ---------------------------------------------------------------------------
def english_clips(corpus: Path, min_s: float, max_s: float) -> list[Clip]:
    """English ASR clips with a reference, ``min_s``-``max_s`` long, manifest order."""
    manifest = corpus / "MANIFEST.tsv"
    clips: list[Clip] = []
    if manifest.is_file():
        with manifest.open(newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row["kind"] != "asr" or row["language"] != "en":
                    continue
                path = corpus / row["file"]
                duration = float(row["duration_s"])
                ref = _ref(path)
                if (
                    row["case_id"] not in SKIP_CASES
                    and path.is_file()
                    and ref
                    and min_s <= duration <= max_s
                ):
                    clips.append(Clip(row["case_id"], path, duration, ref))
        return clips
    for path in sorted([*corpus.glob("*.wav"), *corpus.glob("*.flac")]):
        ref = _ref(path)
        if not ref:
            continue
        audio, _ = decode_to_mono(path)
        duration = len(audio) / SAMPLE_RATE
        if min_s <= duration <= max_s:
            clips.append(Clip(path.stem, path, duration, ref))
    return clips


def _ref(path: Path) -> str | None:
    txt = path.with_suffix(".txt")
    return txt.read_text().strip() if txt.is_file() else None


def assign(clips: list[Clip], streams: int, files: int) -> list[list[Clip]]:
    """Stream k gets clips k*files ... (k+1)*files-1, cycling if there are too few."""
    return [
        [clips[(k * files + j) % len(clips)] for j in range(files)]
        for k in range(streams)
    ]


# --- streaming ------------------------------------------------------------------------
_FRAME_TIMES: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "frame_times", default=None
)


class _TimedConnection(ClientConnection):
    """Records when each binary frame was handed to the socket (monotonic)."""

    async def send(self, message: Any, text: bool | None = None) -> None:
        await super().send(message, text=text)
        times = _FRAME_TIMES.get()
        if times is not None and isinstance(message, bytes | bytearray):
            times.append(time.monotonic())


_timed_websockets = SimpleNamespace(
    connect=functools.partial(websockets.connect, create_connection=_TimedConnection)
)


async def run_one(
    index: int, url: str, headers: dict[str, str], clips: list[Clip], delay_s: float
) -> StreamResult:
    audio = b"".join(pcm16(c.path, TRAILING_SILENCE_S) for c in clips)
    await asyncio.sleep(delay_s)
    frames: list[float] = []
    _FRAME_TIMES.set(frames)  # this task's context: only its own connection sees it
    try:
        out = await rt_client.stream(url, audio, chunk_s=CHUNK_S, headers=headers)
        error = None
    except Exception as exc:  # keep the other streams' results
        out = {"messages": [], "close_code": None}
        error = f"{type(exc).__name__}: {exc}"
    # The helper's clock starts right before the first frame goes out; frame 0's
    # send time is the common origin (they differ by microseconds).
    origin = frames[0] if frames else 0.0
    return StreamResult(
        index=index,
        clips=clips,
        audio_s=len(audio) / 2 / SAMPLE_RATE,
        messages=list(out["messages"]),
        sends=[t - origin for t in frames],
        close_code=out["close_code"],
        error=error,
    )


async def run_streams(
    url: str,
    headers: dict[str, str],
    assignment: list[list[Clip]],
    stagger_s: float,
) -> list[StreamResult]:
    with mock.patch.object(rt_client, "websockets", _timed_websockets):
        tasks = [
            run_one(k, url, headers, clips, k * stagger_s)
            for k, clips in enumerate(assignment)
        ]
        return list(await asyncio.gather(*tasks))


# --- analysis -------------------------------------------------------------------------
def sent_at(result: StreamResult, audio_t: float, *, end: bool) -> float | None:
    """When the frame holding audio time ``audio_t`` was sent; ``end``: the frame
    holding the sample just before that position (the end of a span)."""
    if not result.sends:
        return None
    sample = round(audio_t * SAMPLE_RATE)
    index = (math.ceil(sample / CHUNK_SAMPLES) - 1) if end else sample // CHUNK_SAMPLES
    return result.sends[min(max(index, 0), len(result.sends) - 1)]


def utterances(result: StreamResult) -> tuple[list[Utterance], dict[str, Any]]:
    utts: list[Utterance] = []
    current: Utterance | None = None
    pending: Utterance | None = None  # speech ended, final not yet seen
    partial_delays: list[tuple[float, float]] = []  # (arrival, delay)
    lag_warnings: list[tuple[float, float]] = []  # (arrival, lag_seconds)
    errors: list[str] = []
    orphan_finals = 0
    for arrival, msg in result.messages:
        kind = msg.get("type")
        if kind == "vad.speech_start":
            current = Utterance(stream=result.index, start_ts=float(msg["timestamp"]))
        elif kind == "transcript.partial":
            sent = sent_at(result, float(msg["end"]), end=True)
            if sent is not None:
                partial_delays.append((arrival, arrival - sent))
            if current is not None and current.first_partial_s is None:
                assert current.start_ts is not None
                start = sent_at(result, current.start_ts, end=False)
                if start is not None:
                    current.first_partial_s = arrival - start
        elif kind == "vad.speech_end":
            utt = current or Utterance(stream=result.index)
            utt.end_ts = float(msg["timestamp"])
            utt.end_event_at = arrival
            utts.append(utt)
            pending, current = utt, None
        elif kind == "transcript.final":
            if pending is None or pending.final_at is not None:
                # A cut at max_utterance_s or the stream's end: no VAD end to time.
                orphan_finals += 1
                utts.append(Utterance(result.index, text=str(msg.get("text") or "")))
                continue
            pending.final_at = arrival
            pending.text = str(msg.get("text") or "")
            _final_latencies(result, pending)
            pending = None
        elif kind == "warning" and msg.get("code") == "processing_lag":
            lag_warnings.append((arrival, float(msg.get("lag_seconds") or 0.0)))
        elif kind == "error":
            errors.append(str(msg.get("code")))
    if current is not None:  # speech still going when the stream ended
        utts.append(current)
    extra = {
        "partial_delays": partial_delays,
        "lag_warnings": lag_warnings,
        "errors": errors,
        "orphan_finals": orphan_finals,
    }
    return utts, extra


def _final_latencies(result: StreamResult, utt: Utterance) -> None:
    assert utt.end_ts is not None and utt.final_at is not None
    marks = {
        "final_from_speech_end_ts": utt.end_ts,
        "final_from_vad_decision": utt.end_ts + DECISION_AFTER_END_TS_S,
        "final_from_last_speech": utt.end_ts - LAST_SPEECH_BEFORE_END_TS_S,
    }
    for name, audio_t in marks.items():
        sent = sent_at(result, audio_t, end=True)
        if sent is not None:
            utt.latencies[name] = utt.final_at - sent
    if utt.end_event_at is not None:
        utt.latencies["final_after_speech_end_event"] = utt.final_at - utt.end_event_at


def stats(values: Iterable[float]) -> dict[str, Any]:
    data = np.asarray(list(values), dtype=float)
    if not len(data):
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(data),
        "p50_ms": round(float(np.percentile(data, 50)) * 1000, 1),
        "p95_ms": round(float(np.percentile(data, 95)) * 1000, 1),
        "mean_ms": round(float(data.mean()) * 1000, 1),
        "max_ms": round(float(data.max()) * 1000, 1),
    }


def _p50(values: list[float]) -> float | None:
    return float(np.percentile(values, 50)) if values else None


LATENCIES = (
    "final_from_vad_decision",
    "final_from_speech_end_ts",
    "final_after_speech_end_event",
    "final_from_last_speech",
)


def summarize(results: list[StreamResult], details: bool) -> dict[str, Any]:
    all_utts: list[Utterance] = []
    first_half: list[float] = []
    second_half: list[float] = []
    slopes: list[float] = []
    partial_delays: list[float] = []
    lag_warnings: list[float] = []
    errors: list[str] = []
    orphans = 0
    per_stream: list[dict[str, Any]] = []
    refs: list[str] = []
    hyps: list[str] = []
    for result in results:
        utts, extra = utterances(result)
        all_utts.extend(utts)
        timed = [
            (u.final_at, u.latencies["final_from_vad_decision"])
            for u in utts
            if u.final_at is not None and "final_from_vad_decision" in u.latencies
        ]
        half = len(timed) // 2
        first_half.extend(v for _, v in timed[:half])
        second_half.extend(v for _, v in timed[len(timed) - half :])
        if len(timed) >= 4:
            xs, ys = zip(*timed, strict=True)
            slopes.append(float(np.polyfit(xs, ys, 1)[0]))
        partial_delays.extend(d for _, d in extra["partial_delays"])
        lag_warnings.extend(lag for _, lag in extra["lag_warnings"])
        errors.extend(extra["errors"])
        if result.error:
            errors.append(result.error)
        orphans += extra["orphan_finals"]
        hyp = " ".join(u.text for u in utts if u.text)
        ref = " ".join(c.reference for c in result.clips)
        refs.append(ref)
        hyps.append(hyp)
        sends = result.sends
        sent_s = sends[-1] - sends[0] + CHUNK_S if sends else 0.0
        per_stream.append(
            {
                "stream": result.index,
                "clips": [c.name for c in result.clips],
                "audio_s": round(result.audio_s, 2),
                # audio seconds per wall second while sending (1.0 = real time)
                "client_pace": round(result.audio_s / sent_s, 3) if sent_s else None,
                "utterances": len([u for u in utts if u.end_ts is not None]),
                "finals": len([u for u in utts if u.final_at is not None]),
                "close_code": result.close_code,
                "wer": round(wer([ref], [hyp]), 4),
            }
        )
    lat = {
        name: stats(u.latencies[name] for u in all_utts if name in u.latencies)
        for name in LATENCIES
    }
    first_p50, second_p50 = _p50(first_half), _p50(second_half)
    growth = (
        second_p50 - first_p50
        if first_p50 is not None and second_p50 is not None
        else None
    )
    close_ok = all(r.close_code == 1000 for r in results)
    # Growing: later finals come later than earlier ones, or the server gave up on a
    # stream. A lag warning alone (backlog > 2 s) can be one burst it recovers from,
    # so it is reported beside this, not folded in.
    growing = (
        "processing_lag" in errors
        or not close_ok
        or (growth is not None and growth > LAG_GROWTH_S)
    )
    out: dict[str, Any] = {
        "streams": len(results),
        "audio_s_total": round(sum(r.audio_s for r in results), 2),
        "utterances": len([u for u in all_utts if u.end_ts is not None]),
        "utterances_without_partial": len(
            [u for u in all_utts if u.end_ts is not None and u.first_partial_s is None]
        ),
        "finals_without_vad_end": orphans,
        "first_partial": stats(
            u.first_partial_s for u in all_utts if u.first_partial_s is not None
        ),
        **lat,
        # arrival of each partial - send of the frame holding its `end`: the
        # server's backlog plus the partial's decode
        "partial_delay": stats(partial_delays),
        "lag": {
            "warnings": len(lag_warnings),
            "max_warning_lag_s": max(lag_warnings) if lag_warnings else None,
            "errors": sorted(set(errors)),
            "all_closed_normally": close_ok,
            "final_from_vad_decision_p50_first_half_ms": _ms(first_p50),
            "final_from_vad_decision_p50_second_half_ms": _ms(second_p50),
            "half_growth_ms": _ms(growth),
            "final_from_vad_decision_slope_ms_per_min": round(
                float(np.mean(slopes)) * 1000 * 60, 1
            )
            if slopes
            else None,
            "growing": growing,
        },
        "wer": round(wer(refs, hyps), 4) if refs else None,
        "per_stream": per_stream,
    }
    if details:
        out["per_utterance"] = [
            {
                "stream": u.stream,
                "speech_start": u.start_ts,
                "speech_end": u.end_ts,
                "first_partial_ms": _ms(u.first_partial_s),
                **{f"{k}_ms": _ms(v) for k, v in u.latencies.items()},
                "text": u.text,
            }
            for u in all_utts
        ]
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def wait_for_free_slots(server: ServerProcess, timeout: float = 30.0) -> float:
    """Seconds until every realtime slot is free again.

    The server frees a session's slot only after it has closed the socket and
    written the session record, so a client that reconnects right after a normal
    close can be refused (4503) at full capacity.
    """
    t0 = time.perf_counter()
    with server.client() as client:
        while time.perf_counter() - t0 < timeout:
            body = client.get("/v1/realtime/status").json()
            if body["active"] == 0:
                break
            time.sleep(0.02)
    return time.perf_counter() - t0


# --- machine --------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    import ctranslate2
    import faster_whisper

    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "websockets": websockets.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- main -----------------------------------------------------------------------------
class BatchBeside:
    """Batch jobs submitted back to back to the same server while the streams
    run (the embedded server decodes them in the same process)."""

    def __init__(self, server: ServerProcess, audio: Path) -> None:
        self.server, self.audio = server, audio
        self.stop = threading.Event()
        self.jobs: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.server.client() as client:
            while not self.stop.is_set():
                job = wait_for_job(client, submit(client, self.audio, language="en"))
                self.jobs.append(job)

    def __enter__(self) -> BatchBeside:
        self.thread.start()
        time.sleep(1.0)  # the first job is decoding when the streams start
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=300)

    def summary(self) -> dict[str, Any]:
        done = [j for j in self.jobs if j["status"] == "completed"]
        return {
            "file": self.audio.name,
            "jobs_completed": len(done),
            "audio_s": round(sum(j["audio_duration_seconds"] or 0 for j in done), 1),
        }


def decode_counts(server: ServerProcess) -> dict[str, float]:
    """The server's own counts (warm-up included): inference calls for stream
    decodes, partials batched into them, partials skipped."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    calls = values.get("dalston_realtime_decode_batch_size_count", 0.0)
    served = values.get("dalston_realtime_decode_batch_size_sum", 0.0)
    single = values.get('dalston_realtime_decode_batch_size_bucket{le="1.0"}', 0.0)
    return {
        "calls": calls,
        "decodes_served": served,
        "batched_calls": calls - single,
        "skipped_partials": values.get("dalston_realtime_skipped_partials_total", 0.0),
    }


def run_level(
    n: int,
    assignment: list[list[Clip]],
    warmup: Clip,
    args: argparse.Namespace,
    tmp: Path,
    beside: Path | None = None,
) -> dict[str, Any]:
    server = ServerProcess(
        tmp / f"data-{n}{'-batch' if beside else ''}",
        env={
            "DALSTON_DEVICE": "cpu",
            "DALSTON_COMPUTE_TYPE": "int8",
            "DALSTON_DEFAULT_MODEL": args.model,
            "DALSTON_REALTIME_CAPACITY": str(max(n, 1)),
            "DALSTON_REALTIME_THREADS": str(args.threads),
            "DALSTON_REALTIME_BEAM_SIZE": str(args.beam),
            "DALSTON_REALTIME_BATCH_PAUSE_S": str(args.batch_pause),
            "DALSTON_REALTIME_SHORT_PARTIALS": str(args.short_partials).lower(),
            "DALSTON_ENGINE_SCHED_IDLE": str(args.sched_idle).lower(),
            **(
                {"DALSTON_REALTIME_BATCH_SIZE": str(args.batch_size)}
                if args.batch_size
                else {}
            ),
        },
    )
    t0 = time.perf_counter()
    server.start(timeout=300)
    start_s = time.perf_counter() - t0
    try:
        url = (
            f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream"
            f"?language=en&model={args.model}"
        )
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        # First decode and VAD session load, not measured.
        asyncio.run(run_streams(url, headers, [[warmup]], 0.0))
        slot_wait = wait_for_free_slots(server)
        load_before = [round(x, 2) for x in os.getloadavg()]
        batch: BatchBeside | None = None
        with contextlib.ExitStack() as stack:
            if beside is not None:
                batch = stack.enter_context(BatchBeside(server, beside))
            t1 = time.perf_counter()
            results = asyncio.run(run_streams(url, headers, assignment, args.stagger))
            wall = time.perf_counter() - t1
        assert server.proc is not None
        rss = peak_rss_mb(server.proc.pid)
        decodes = decode_counts(server)
    finally:
        server.stop()
    out = summarize(results, args.details)
    out["wall_s"] = round(wall, 2)
    out["server_start_s"] = round(start_s, 2)
    out["server_peak_rss_mb"] = rss
    out["decodes"] = decodes
    out["slot_free_after_warmup_close_s"] = round(slot_wait, 3)
    out["loadavg_before"] = load_before
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if batch is not None:
        out["batch_beside"] = batch.summary()
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--streams", default="1,2,4,8", help="comma-separated concurrent stream counts"
    )
    parser.add_argument("--files", type=int, default=3, help="clips per stream")
    parser.add_argument("--threads", type=int, default=2, help="realtime threads")
    parser.add_argument("--beam", type=int, default=1, help="realtime beam size")
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="folder with MANIFEST.tsv (default /work/shared/corpus, else tests/data)",
    )
    parser.add_argument("--min-clip-s", type=float, default=2.0)
    parser.add_argument("--max-clip-s", type=float, default=15.0)
    parser.add_argument(
        "--stagger",
        type=float,
        default=0.25,
        help="stream k starts k*STAGGER s after stream 0",
    )
    parser.add_argument(
        "--details", action="store_true", help="include per-utterance records"
    )
    parser.add_argument(
        "--note", default=None, help="free text stored in the output (e.g. load)"
    )
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--batch-beside",
        type=Path,
        default=None,
        help="also run each level with batch jobs of this file submitted back to "
        "back to the same server, and compare",
    )
    parser.add_argument(
        "--batch-pause",
        type=float,
        default=Settings().realtime_batch_pause_s,
        help="DALSTON_REALTIME_BATCH_PAUSE_S of the server (0: batch work never "
        "waits for stream decodes)",
    )
    parser.add_argument(
        "--short-partials",
        action=argparse.BooleanOptionalAction,
        default=Settings().realtime_short_partials,
        help="DALSTON_REALTIME_SHORT_PARTIALS of the server (partials decoded in "
        "a window fitted to their audio)",
    )
    parser.add_argument(
        "--sched-idle",
        action=argparse.BooleanOptionalAction,
        default=Settings().engine_sched_idle,
        help="DALSTON_ENGINE_SCHED_IDLE of the server (batch engine threads "
        "beside the streams under SCHED_IDLE)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="DALSTON_REALTIME_BATCH_SIZE of the server (partials of several "
        "streams decoded as one batch; unset: the server's default for the device)",
    )
    return parser.parse_args(argv)


def _target(value_ms: float | None, limit_s: float, n: int) -> dict[str, Any]:
    return {
        "streams": n,
        "value_ms": value_ms,
        "target_ms": limit_s * 1000,
        "pass": None if value_ms is None else value_ms <= limit_s * 1000,
    }


def targets(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    one = runs.get("1")
    out: dict[str, Any] = {}
    for name in ("final_from_vad_decision", "final_from_speech_end_ts"):
        st = one[name] if one else {}
        out[f"n1_{name}_p50"] = _target(st.get("p50_ms"), TARGET_N1_FINAL_P50_S, 1)
        out[f"n1_{name}_p95"] = _target(st.get("p95_ms"), TARGET_N1_FINAL_P95_S, 1)
    first = one["first_partial"] if one else {}
    out["n1_first_partial_p50"] = _target(
        first.get("p50_ms"), TARGET_N1_FIRST_PARTIAL_P50_S, 1
    )
    n4 = runs.get(str(TARGET_N4_STREAMS))
    st = n4["final_from_vad_decision"] if n4 else {}
    out[f"n{TARGET_N4_STREAMS}_final_from_vad_decision_p95"] = _target(
        st.get("p95_ms"), TARGET_N4_FINAL_P95_S, TARGET_N4_STREAMS
    )
    for n in (TARGET_N4_STREAMS, TARGET_NO_LAG_STREAMS):
        run = runs.get(str(n))
        out[f"n{n}_no_growing_lag"] = {
            "streams": n,
            "max_warning_lag_s": run["lag"]["max_warning_lag_s"] if run else None,
            "half_growth_ms": run["lag"]["half_growth_ms"] if run else None,
            "warnings": run["lag"]["warnings"] if run else None,
            "pass": None if run is None else not run["lag"]["growing"],
            "pass_without_lag_warnings": None
            if run is None
            else not run["lag"]["growing"] and not run["lag"]["warnings"],
        }
    out["note"] = (
        "targets read on tiny.en with 2 cores; final_from_speech_end_ts includes "
        f"~{DECISION_AFTER_END_TS_S * 1000:.0f} ms of VAD silence wait by design, "
        "final_from_vad_decision does not; pass is null where N was not run"
    )
    return out


def beside_ratios(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Final latency with batch jobs beside over without, per level (target:
    within 20 %)."""
    out: dict[str, Any] = {}
    for key, run in runs.items():
        if not key.endswith("+batch"):
            continue
        plain = runs[key.removesuffix("+batch")]
        ratios = {}
        for pct in ("p50_ms", "p95_ms"):
            a = plain["final_from_vad_decision"].get(pct)
            b = run["final_from_vad_decision"].get(pct)
            ratios[pct] = round(b / a, 2) if a and b else None
        p95 = ratios["p95_ms"]
        out[key] = {**ratios, "pass": None if p95 is None else p95 <= 1.2}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    levels = [int(x) for x in args.streams.split(",") if x.strip()]
    corpus = args.corpus
    if corpus is None:
        corpus = DEFAULT_CORPUS if (DEFAULT_CORPUS / "MANIFEST.tsv").is_file() else None
    if corpus is None:
        corpus = FALLBACK_DATA
    clips = english_clips(corpus, args.min_clip_s, args.max_clip_s)
    if not clips:
        raise SystemExit(f"no English clips with references under {corpus}")
    warmup = min(clips, key=lambda c: c.duration_s)
    result: dict[str, Any] = {
        "bench": "realtime",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": args.note,
        "machine": machine_info(),
        "options": {
            "model": args.model,
            "device": "cpu",
            "compute_type": "int8",
            "realtime_threads": args.threads,
            "realtime_beam_size": args.beam,
            "realtime_batch_pause_s": args.batch_pause,
            "realtime_short_partials": args.short_partials,
            "realtime_batch_size": args.batch_size or "server default",
            "engine_sched_idle": args.sched_idle,
            "cpu_threads": "server default (DALSTON_CPU_THREADS unset)",
            "files_per_stream": args.files,
            "trailing_silence_s": TRAILING_SILENCE_S,
            "frame_s": CHUNK_S,
            "stagger_s": args.stagger,
            "query": "language=en, VAD commit, interim_results on",
            "vad_decision_after_speech_end_ts_s": round(DECISION_AFTER_END_TS_S, 3),
        },
        "corpus": str(corpus),
        "clips_available": len(clips),
    }
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="dalston-bench-rt-") as tmp:
        for n in levels:
            assignment = assign(clips, n, args.files)
            reused = n * args.files > len(clips)
            runs[str(n)] = run_level(n, assignment, warmup, args, Path(tmp))
            runs[str(n)]["clips_reused"] = reused
            if args.batch_beside is not None:
                key = f"{n}+batch"
                runs[key] = run_level(
                    n, assignment, warmup, args, Path(tmp), args.batch_beside
                )
                runs[key]["clips_reused"] = reused
    result["runs"] = runs
    result["targets"] = targets({k: v for k, v in runs.items() if "+" not in k})
    if args.batch_beside is not None:
        result["targets"]["batch_beside"] = beside_ratios(runs)
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
