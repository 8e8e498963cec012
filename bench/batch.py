"""Batch transcription benchmark: HTTP API vs raw faster-whisper, and VAD batching.

Run from the repository root::

    .venv/bin/python bench/batch.py [--model whisper-tiny.en] [--output out.json]

Prints one JSON object (see bench/README.md). Two parts, both on CPU int8:

1. *API vs raw*: English clips (~90 s in all) are sent one at a time to an embedded
   ``dalston serve`` started here, and decoded by ``WhisperModel.transcribe`` in this
   process with the engine's options (beam 5, word timestamps, VAD filter). The two
   paths are interleaved clip by clip (order alternating) so machine noise hits both.
2. *VAD batching*: one long file (clips joined with 0.5 s of silence) decoded by the
   sequential ``WhisperModel.transcribe`` and by ``BatchedInferencePipeline`` (batch
   8 and 16) on the same array; plus one job of it through the API, which takes its
   VAD-batched path above ``DALSTON_VAD_BATCH_THRESHOLD_S``.
3. *Concurrent short jobs*: the short clips submitted 1, 4 and 16 at a time
   (``--concurrency``), jobs/min and RTFx against one at a time and against raw
   sequential decoding of the same clips in this process (``--only-concurrent``
   runs this part alone).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/batch.py` puts bench/ first, not the repo
    sys.path.insert(0, str(REPO))

from dalston.audio import (  # noqa: E402
    SAMPLE_RATE,
    decode_to_mono,
    decode_to_wav16k,
    read_wav16k,
    write_wav16k,
)
from dalston.catalog import ModelCatalog  # noqa: E402
from dalston.eval.scoring import wer  # noqa: E402
from tests.server import (  # noqa: E402
    ServerProcess,
    peak_rss_mb,
    submit,
    wait_for_job,
)

DEFAULT_CORPUS = Path("/work/shared/corpus")
FALLBACK_DATA = REPO / "tests" / "data"
MODEL_CACHE = REPO / ".dalston" / "models"
# Whisper's normalizer turns this digit string into one number: WER is meaningless.
SKIP_CASES = {"sphinx4_digits_10001_90210_01803"}
BEAM_SIZE = 5
DEVICE = "cpu"
COMPUTE_TYPE = "int8"
# Raw batched decoding is compared at this batch (the long-file targets); the
# server runs with its own defaults (on CPU: one window a batch, groups of
# windows side by side).
RAW_BATCH_SIZE = 8
GAP_S = 0.5
TARGET_API_OVER_RAW = 0.95
TARGET_BATCHED_SPEEDUP = 2.0
# The long file through the server against raw batched decoding: without
# alignment, and with the defaults (the align stage after transcription).
TARGET_LONG_OVER_RAW_BATCHED = 0.95
TARGET_LONG_ALIGNED_OVER_RAW_BATCHED = 0.85


@dataclass
class Clip:
    name: str
    path: Path
    duration_s: float
    reference: str | None


# --- corpus ---------------------------------------------------------------------------
def english_clips(corpus: Path) -> list[Clip]:
    """English single-speaker ASR clips, in manifest order (corpus or tests/data)."""
    manifest = corpus / "MANIFEST.tsv"
    clips: list[Clip] = []
    if manifest.is_file():
        with manifest.open(newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row["kind"] != "asr" or row["language"] != "en":
                    continue
                if row["case_id"] in SKIP_CASES:
                    continue
                path = corpus / row["file"]
                if path.is_file():
                    clips.append(
                        Clip(row["case_id"], path, float(row["duration_s"]), _ref(path))
                    )
        return clips
    for path in sorted([*corpus.glob("*.wav"), *corpus.glob("*.flac")]):
        audio, _ = decode_to_mono(path)
        clips.append(Clip(path.stem, path, len(audio) / SAMPLE_RATE, _ref(path)))
    return clips


def _ref(path: Path) -> str | None:
    txt = path.with_suffix(".txt")
    return txt.read_text().strip() if txt.is_file() else None


def prepared_samples(path: Path, work: Path) -> np.ndarray:
    """The samples the transcribe stage reads: the prepare stage's 16-bit WAV.

    Feeding faster-whisper the float32 decode instead changes its output (and
    time) on some clips, so the raw path uses what the server's prepare writes.
    """
    wav = work / f"{path.stem}.wav"
    decode_to_wav16k(path, wav)
    samples: np.ndarray = read_wav16k(wav).mean(axis=0)  # as the engine down-mixes
    wav.unlink()
    return samples


def pick_short_set(clips: list[Clip], total_s: float) -> list[Clip]:
    """Clips of 5-35 s in manifest order until ``total_s``; short ones as a fallback."""
    chosen: list[Clip] = []
    for pool in (
        [c for c in clips if 5.0 <= c.duration_s <= 35.0],
        [c for c in clips if not 5.0 <= c.duration_s <= 35.0],
    ):
        for clip in pool:
            if sum(c.duration_s for c in chosen) >= total_s:
                return chosen
            chosen.append(clip)
    return chosen


def build_long(
    clips: list[Clip], decoded: dict[str, np.ndarray], target_s: float
) -> tuple[np.ndarray, str, list[str]]:
    """Clips joined (cycling if needed) with silence between, to about ``target_s``."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    refs: list[str] = []
    names: list[str] = []
    total = 0
    usable = [c for c in clips if c.reference]
    while usable and total < target_s * SAMPLE_RATE:
        for clip in usable:
            if total >= target_s * SAMPLE_RATE:
                break
            audio = decoded[clip.name]
            parts.extend([audio, gap])
            total += len(audio) + len(gap)
            refs.append(clip.reference or "")
            names.append(clip.name)
    return np.concatenate(parts).astype(np.float32), " ".join(refs), names


# --- raw faster-whisper ---------------------------------------------------------------
def _kwargs() -> dict[str, Any]:
    # What engines/faster_whisper/engine.py passes for a default API request.
    return {
        "language": None,
        "task": "transcribe",
        "beam_size": BEAM_SIZE,
        "word_timestamps": True,
        "hotwords": None,
        "initial_prompt": None,
    }


def _consume(segments: Iterable[Any]) -> str:
    texts = []
    for seg in segments:  # the generator decodes lazily: time the whole iteration
        _ = [w.word for w in seg.words or ()]
        texts.append(seg.text.strip())
    return " ".join(t for t in texts if t)


def timed(fn: Callable[[], str]) -> tuple[float, str]:
    start = time.perf_counter()
    text = fn()
    return time.perf_counter() - start, text


# --- API ------------------------------------------------------------------------------
def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


PHASES = ("upload", "queue", "prepare", "handoff", "transcribe", "finalize")


def api_job(
    client: Any,
    path: Path,
    model: str,
    *,
    align: bool = False,
) -> dict[str, Any]:
    """Upload one file and wait; wall = upload start -> server's ``completed_at``.

    ``phases`` splits that wall time with the job's and stages' server timestamps
    (same host, same clock): upload (until the job row exists), queue (until
    prepare starts), prepare, handoff (prepare done -> transcribe starts),
    transcribe, finalize (transcribe done -> job completed; with ``align``, the
    align stage too: ``align_s`` is its own time).
    """
    t_wall = time.time()
    t0 = time.perf_counter()
    # The raw path has no alignment stage: compare like for like, unless asked.
    job_id = submit(client, path, model=model, word_alignment=str(align).lower())
    body = wait_for_job(client, job_id, timeout=900)
    polled = time.perf_counter() - t0
    if body["status"] != "completed":
        raise RuntimeError(f"job {job_id} {body['status']}: {body.get('error')}")
    stages = {s["stage"]: s for s in body["stages"]}
    marks = [
        t_wall,
        _ts(body["created_at"]),
        _ts(stages["prepare"]["started_at"]),
        _ts(stages["prepare"]["completed_at"]),
        _ts(stages["transcribe"]["started_at"]),
        _ts(stages["transcribe"]["completed_at"]),
        _ts(body["completed_at"]),
    ]
    phases = {name: marks[i + 1] - marks[i] for i, name in enumerate(PHASES)}
    aligned = stages.get("align")
    return {
        "align_s": (
            _ts(aligned["completed_at"]) - _ts(aligned["started_at"])
            if aligned
            else None
        ),
        "wall_s": marks[-1] - t_wall,
        "started_at": t_wall,
        "completed_at": marks[-1],
        "polled_s": polled,
        "phases": phases,
        "transcribe_s": phases["transcribe"],
        "text": body.get("text") or "",
    }


def cpu_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (the server)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def self_peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- helpers --------------------------------------------------------------------------
def _wer(refs: list[str | None], hyps: list[str]) -> float | None:
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    if not pairs:
        return None
    return round(wer([r for r, _ in pairs], [h for _, h in pairs]), 4)


def _rtfx(audio_s: float, wall_s: float) -> float:
    return round(audio_s / wall_s, 2) if wall_s > 0 else 0.0


def machine_info(model: str) -> dict[str, Any]:
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
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    try:
        import onnxruntime

        ort_version: str | None = onnxruntime.__version__
    except ImportError:
        ort_version = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "model": model,
        "device": DEVICE,
        "compute_type": COMPUTE_TYPE,
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "onnxruntime": ort_version,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- parts ----------------------------------------------------------------------------
def run_api_vs_raw(
    server: ServerProcess,
    whisper: Any,
    clips: list[Clip],
    decoded: dict[str, np.ndarray],
    model: str,
    repeats: int,
) -> dict[str, Any]:
    audio_s = sum(len(decoded[c.name]) / SAMPLE_RATE for c in clips)
    api_runs: list[list[dict[str, Any]]] = []
    raw_runs: list[list[tuple[float, str]]] = []
    # What ``transcribe(path)`` adds before decoding: faster-whisper's own read
    # of the file (``decode_audio``), the work the server's prepare stage does.
    from faster_whisper import decode_audio

    file_reads: list[list[float]] = []
    # The engine's own ``process`` in this process, on the prepare stage's WAV:
    # the transcribe stage without the server around it.
    engine, engine_input = _engine_in_process(model)
    engine_runs: list[float] = []
    work = Path(tempfile.mkdtemp(prefix="dalston-bench-engine-"))
    prepared = {c.name: work / f"{c.name}.wav" for c in clips}
    for clip in clips:
        decode_to_wav16k(clip.path, prepared[clip.name])
    with server.client() as client:
        # Warm-up, not timed: first request, first decode, VAD model load.
        api_job(client, clips[0].path, model)
        first = decoded[clips[0].name]
        _consume(whisper.transcribe(first, vad_filter=True, **_kwargs())[0])
        engine.process(engine_input(prepared[clips[0].name], work))
        for rep in range(repeats):
            api_rep: list[dict[str, Any]] = []
            raw_rep: list[tuple[float, str]] = []
            file_rep: list[float] = []
            for i, clip in enumerate(clips):
                audio = decoded[clip.name]

                def raw(audio: np.ndarray = audio) -> str:
                    segs, _ = whisper.transcribe(audio, vad_filter=True, **_kwargs())
                    return _consume(segs)

                if (rep + i) % 2 == 0:
                    api_rep.append(api_job(client, clip.path, model))
                    raw_rep.append(timed(raw))
                else:
                    raw_rep.append(timed(raw))
                    api_rep.append(api_job(client, clip.path, model))
                read_start = time.perf_counter()
                decode_audio(str(clip.path))
                file_rep.append(time.perf_counter() - read_start)
                engine_start = time.perf_counter()
                engine.process(engine_input(prepared[clip.name], work))
                engine_runs.append(time.perf_counter() - engine_start)
            api_runs.append(api_rep)
            raw_runs.append(raw_rep)
            file_reads.append(file_rep)
    engine.close()
    shutil.rmtree(work, ignore_errors=True)

    api_wall = [sum([r["wall_s"] for r in rep]) for rep in api_runs]
    api_polled = [sum([r["polled_s"] for r in rep]) for rep in api_runs]
    phases = {
        name: round(sum(r["phases"][name] for rep in api_runs for r in rep), 3)
        for name in PHASES
    }
    raw_wall = [sum([t for t, _ in rep]) for rep in raw_runs]
    read_wall = sum(sum(rep) for rep in file_reads)
    refs = [c.reference for c in clips]
    api_rtfx = _rtfx(audio_s * repeats, sum(api_wall))
    raw_rtfx = _rtfx(audio_s * repeats, sum(raw_wall))
    per_clip = []
    for i, clip in enumerate(clips):
        per_clip.append(
            {
                "clip": clip.name,
                "audio_s": round(len(decoded[clip.name]) / SAMPLE_RATE, 3),
                "api_s": round(statistics.median(r[i]["wall_s"] for r in api_runs), 3),
                "api_transcribe_stage_s": round(
                    statistics.median(r[i]["transcribe_s"] for r in api_runs), 3
                ),
                "raw_s": round(statistics.median(r[i][0] for r in raw_runs), 3),
            }
        )
    return {
        "clips": len(clips),
        "audio_s": round(audio_s, 2),
        "repeats": repeats,
        "api": {
            "wall_s": round(sum(api_wall), 3),
            "rtfx": api_rtfx,
            "rtfx_per_repeat": [_rtfx(audio_s, w) for w in api_wall],
            "wall_polled_s": round(sum(api_polled), 3),
            "rtfx_polled": _rtfx(audio_s * repeats, sum(api_polled)),
            "phases_s": phases,
            "overhead_per_job_ms": round(
                1000 * (sum(api_wall) - phases["transcribe"]) / (len(clips) * repeats),
                1,
            ),
            "wer": _wer(refs, [r["text"] for r in api_runs[-1]]),
        },
        "raw": {
            "wall_s": round(sum(raw_wall), 3),
            "rtfx": raw_rtfx,
            "rtfx_per_repeat": [_rtfx(audio_s, w) for w in raw_wall],
            "wer": _wer(refs, [t for _, t in raw_runs[-1]]),
            "file_read_s": round(read_wall, 3),
        },
        "ratio_api_over_raw": round(api_rtfx / raw_rtfx, 3) if raw_rtfx else None,
        # Raw as a user calls it, ``transcribe(path)``: its file read counted too.
        "ratio_api_over_raw_from_file": round(
            (sum(raw_wall) + read_wall) / sum(api_wall), 3
        ),
        "ratio_per_repeat": [
            round(r / a, 3) for a, r in zip(api_wall, raw_wall, strict=True)
        ],
        "ratio_polled": round(_rtfx(audio_s * repeats, sum(api_polled)) / raw_rtfx, 3)
        if raw_rtfx
        else None,
        # The transcribe stage alone against raw: the engine's cost in the server.
        "ratio_transcribe_stage": round(sum(raw_wall) / phases["transcribe"], 3),
        # The engine's ``process`` in this process against raw: its own cost.
        "ratio_engine_in_process": round(sum(raw_wall) / sum(engine_runs), 3),
        # Noise only ever adds time: per-clip minima over repeats are the quiet cost.
        "ratio_min_of_repeats": round(
            sum(min(r[i][0] for r in raw_runs) for i in range(len(clips)))
            / sum(min(r[i]["wall_s"] for r in api_runs) for i in range(len(clips))),
            3,
        ),
        "per_clip": per_clip,
    }


def _engine_in_process(
    model: str,
) -> tuple[Any, Callable[[Path, Path], Any]]:
    """The server's transcribe engine, loaded here, and a maker of its tasks."""
    import threading

    from dalston.engine_sdk import EngineConfig, TaskInput
    from dalston.engines.faster_whisper.engine import FasterWhisperEngine

    config = EngineConfig(
        device=DEVICE,
        compute_type=COMPUTE_TYPE,
        beam_size=BEAM_SIZE,
        model_cache_dir=MODEL_CACHE,
        default_model=model,
    )
    engine = FasterWhisperEngine(config)
    engine.load()

    def task(wav: Path, work: Path) -> TaskInput:
        return TaskInput(
            task_id="bench",
            job_id="bench",
            stage="transcribe",
            params={"model": model, "language": "en"},
            audio_path=wav,
            inputs={},
            work_dir=work,
            cancel_event=threading.Event(),
        )

    return engine, task


def run_concurrent(
    server: ServerProcess,
    whisper: Any,
    clips: list[Clip],
    decoded: dict[str, np.ndarray],
    model: str,
    levels: list[int],
    jobs: int,
) -> dict[str, Any]:
    """``jobs`` short jobs (the clips, cycled) through the API with ``level`` in
    flight at a time, against raw sequential decoding of the same clips."""
    from concurrent.futures import ThreadPoolExecutor

    batch = [clips[i % len(clips)] for i in range(jobs)]
    audio_s = sum(len(decoded[c.name]) / SAMPLE_RATE for c in batch)
    refs = [c.reference for c in batch]

    def raw_all() -> list[str]:
        texts = []
        for clip in batch:
            segs, _ = whisper.transcribe(
                decoded[clip.name], vad_filter=True, **_kwargs()
            )
            texts.append(_consume(segs))
        return texts

    out: dict[str, Any] = {"jobs": jobs, "audio_s": round(audio_s, 2)}
    with server.client() as client:
        api_job(client, batch[0].path, model)  # warm-up
        raw_all()
        started = time.perf_counter()
        raw_texts = raw_all()
        raw_wall = time.perf_counter() - started
        out["raw_sequential"] = {
            "wall_s": round(raw_wall, 3),
            "jobs_per_min": round(60 * jobs / raw_wall, 1),
            "rtfx": _rtfx(audio_s, raw_wall),
            "wer": _wer(refs, raw_texts),
        }
        for level in levels:
            with ThreadPoolExecutor(level) as pool:
                done = list(pool.map(lambda c: api_job(client, c.path, model), batch))
            # Server-side spans (upload start -> completed_at), united: the gaps
            # between a job's completion and the client's next poll do not count.
            wall = _union_s([(r["started_at"], r["completed_at"]) for r in done])
            out[f"api_{level}"] = {
                "in_flight": level,
                "wall_s": round(wall, 3),
                "jobs_per_min": round(60 * jobs / wall, 1),
                "rtfx": _rtfx(audio_s, wall),
                "job_wall_p50_s": round(
                    statistics.median(r["wall_s"] for r in done), 3
                ),
                "wer": _wer(refs, [r["text"] for r in done]),
            }
    one = out.get(f"api_{levels[0]}")
    for level in levels:
        run = out[f"api_{level}"]
        run["vs_raw_sequential"] = round(raw_wall / run["wall_s"], 3)
        if one is not None:
            run[f"vs_api_{levels[0]}"] = round(one["wall_s"] / run["wall_s"], 3)
    return out


def _union_s(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def run_long(
    whisper: Any,
    audio: np.ndarray,
    reference: str,
    batch_sizes: list[int],
    repeats: int,
) -> dict[str, Any]:
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(whisper)
    audio_s = len(audio) / SAMPLE_RATE

    def sequential() -> str:
        segs, _ = whisper.transcribe(audio, vad_filter=True, **_kwargs())
        return _consume(segs)

    def batched(size: int) -> Callable[[], str]:
        def run() -> str:
            segs, _ = pipeline.transcribe(audio, batch_size=size, **_kwargs())
            return _consume(segs)

        return run

    modes: dict[str, Callable[[], str]] = {"sequential": sequential}
    for size in batch_sizes:
        modes[f"batched_{size}"] = batched(size)
    walls: dict[str, list[float]] = {name: [] for name in modes}
    texts: dict[str, str] = {}
    names = list(modes)
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            wall, text = timed(modes[name])
            walls[name].append(wall)
            texts[name] = text
    out: dict[str, Any] = {"audio_s": round(audio_s, 2), "repeats": repeats}
    for name in names:
        # Best of the repeats: on a shared machine noise only ever adds time.
        best = min(walls[name])
        out[name] = {
            "wall_s": round(best, 3),
            "rtfx": _rtfx(audio_s, best),
            "walls_s": [round(w, 3) for w in walls[name]],
            "wer": _wer([reference], [texts[name]]),
        }
    seq = out["sequential"]["wall_s"]
    for size in batch_sizes:
        batched_wall = out[f"batched_{size}"]["wall_s"]
        out[f"speedup_batched_{size}"] = round(seq / batched_wall, 3)
    return out


# --- main -----------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="folder with MANIFEST.tsv (default /work/shared/corpus, else tests/data)",
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        default=90.0,
        help="audio in the API-vs-raw clip set",
    )
    parser.add_argument("--long-seconds", type=float, default=300.0)
    parser.add_argument(
        "--repeats", type=int, default=5, help="passes over the API-vs-raw clip set"
    )
    parser.add_argument(
        "--long-repeats", type=int, default=2, help="passes per long-file mode"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16])
    parser.add_argument(
        "--skip-api-long",
        action="store_true",
        help="do not send the long file through the API",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="jobs in flight at a time in the concurrent part (first: the baseline)",
    )
    parser.add_argument(
        "--concurrent-jobs", type=int, default=16, help="jobs per concurrency level"
    )
    parser.add_argument(
        "--only-concurrent",
        action="store_true",
        help="run the concurrent short-jobs part alone",
    )
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    busy0, own0 = cpu_busy_s(), own_cpu_s()
    corpus = args.corpus
    if corpus is None:
        corpus = DEFAULT_CORPUS if (DEFAULT_CORPUS / "MANIFEST.tsv").is_file() else None
    if corpus is None:
        corpus = FALLBACK_DATA
    clips = english_clips(corpus)
    if not clips:
        raise SystemExit(f"no English clips found under {corpus}")
    with tempfile.TemporaryDirectory(prefix="dalston-bench-audio-") as work:
        decoded = {c.name: prepared_samples(c.path, Path(work)) for c in clips}
    short = pick_short_set(clips, args.clip_seconds)
    long_audio, long_ref, long_names = build_long(clips, decoded, args.long_seconds)

    from faster_whisper import WhisperModel

    model_path = ModelCatalog(cache_dir=MODEL_CACHE).resolve_path(args.model)
    # Same construction as engines/faster_whisper/models.py with default settings.
    whisper = WhisperModel(
        str(model_path),
        device=DEVICE,
        compute_type=COMPUTE_TYPE,
        cpu_threads=0,
        num_workers=1,
    )

    result: dict[str, Any] = {
        "bench": "batch",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(args.model),
        "options": {
            "beam_size": BEAM_SIZE,
            "word_timestamps": True,
            "vad_filter": True,
            "cpu_threads": 0,
            "num_workers": 1,
            "raw_input": "the prepare stage's 16-bit WAV (decode_to_wav16k), read back",
        },
        "corpus": str(corpus),
    }
    with tempfile.TemporaryDirectory(prefix="dalston-bench-") as tmp:
        server = ServerProcess(
            Path(tmp) / "data",
            env={
                "DALSTON_DEVICE": DEVICE,
                "DALSTON_COMPUTE_TYPE": COMPUTE_TYPE,
                "DALSTON_DEFAULT_MODEL": args.model,
                # The server's default, not the tests' 0.2 s: the retry sweep's
                # period follows it (idle CPU 2.3 % of a core at 0.2, 0.9 % at 1).
                "DALSTON_TASK_RETRY_BACKOFF_S": "1.0",
            },
        )
        t_start = time.perf_counter()
        server.start(timeout=300)
        server_start_s = time.perf_counter() - t_start
        try:
            result["concurrent"] = run_concurrent(
                server,
                whisper,
                short,
                decoded,
                args.model,
                args.concurrency,
                args.concurrent_jobs,
            )
            if args.only_concurrent:
                result["elapsed_s"] = round(time.perf_counter() - started, 1)
                print(json.dumps(result, indent=2))
                if args.output:
                    args.output.write_text(json.dumps(result, indent=2) + "\n")
                return result
            result["api_vs_raw"] = run_api_vs_raw(
                server, whisper, short, decoded, args.model, args.repeats
            )
            result["api_vs_raw"]["server_start_s"] = round(server_start_s, 2)
            result["api_vs_raw"]["clip_names"] = [c.name for c in short]
            raw_rss_short = self_peak_rss_mb()
            api_long: dict[str, Any] | None = None
            if not args.skip_api_long:
                long_wav = Path(tmp) / "long.wav"
                write_wav16k(long_wav, long_audio)
                audio_s = len(long_audio) / SAMPLE_RATE
                api_long = {}
                # Without alignment (like the raw decode), then with the
                # defaults (the align stage after transcription).
                for name, align in (("api", False), ("api_aligned", True)):
                    with server.client() as client:
                        job = api_job(client, long_wav, args.model, align=align)
                    api_long[name] = {
                        "wall_s": round(job["wall_s"], 3),
                        "rtfx": _rtfx(audio_s, job["wall_s"]),
                        "phases_s": {k: round(v, 3) for k, v in job["phases"].items()},
                        "align_s": job["align_s"] and round(job["align_s"], 3),
                        "wer": _wer([long_ref], [job["text"]]),
                        "note": "one job, the server's defaults (windowed "
                        "path above the threshold)",
                    }
            server_rss = peak_rss_mb(server.proc.pid) if server.proc else None
        finally:
            server.stop()

    long = run_long(whisper, long_audio, long_ref, args.batch_sizes, args.long_repeats)
    long["clips"] = len(long_names)
    if api_long is not None:
        long.update(api_long)
    result["long"] = long
    result["memory"] = {
        "raw_peak_rss_mb_after_api_vs_raw": raw_rss_short,
        "raw_peak_rss_mb": self_peak_rss_mb(),
        "server_peak_rss_mb": server_rss,
        "note": "raw: getrusage(RUSAGE_SELF).ru_maxrss of this process (model, "
        "decoded corpus); server: VmHWM of the dalston serve process and its children",
    }
    ratio = result["api_vs_raw"]["ratio_api_over_raw"]
    speedup = long.get(f"speedup_batched_{RAW_BATCH_SIZE}")
    best = max(long[f"speedup_batched_{s}"] for s in args.batch_sizes)
    result["targets"] = {
        "api_over_raw_rtfx": {
            "value": ratio,
            "target": TARGET_API_OVER_RAW,
            "pass": ratio is not None and ratio >= TARGET_API_OVER_RAW,
        },
        f"vad_batched_speedup_batch_{RAW_BATCH_SIZE}": {
            "value": speedup,
            "target": TARGET_BATCHED_SPEEDUP,
            "pass": speedup is not None and speedup >= TARGET_BATCHED_SPEEDUP,
        },
        "vad_batched_speedup_best": {
            "value": best,
            "target": TARGET_BATCHED_SPEEDUP,
            "pass": best >= TARGET_BATCHED_SPEEDUP,
        },
    }
    raw_batched = long[f"batched_{RAW_BATCH_SIZE}"]["rtfx"]
    for name, target in (
        ("api", TARGET_LONG_OVER_RAW_BATCHED),
        ("api_aligned", TARGET_LONG_ALIGNED_OVER_RAW_BATCHED),
    ):
        if name in long and raw_batched:
            value = round(long[name]["rtfx"] / raw_batched, 3)
            result["targets"][f"long_{name}_over_raw_batched"] = {
                "value": value,
                "target": target,
                "pass": value >= target,
            }
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # CPU time other processes took meanwhile: the noise this run ran under.
    elapsed = time.perf_counter() - started
    foreign = max(0.0, (cpu_busy_s() - busy0) - (own_cpu_s() - own0))
    cores = os.cpu_count() or 1
    result["machine"]["foreign_cpu_s"] = round(foreign, 1)
    result["machine"]["foreign_cpu_share"] = round(foreign / (elapsed * cores), 3)
    result["machine"]["noisy"] = foreign / (elapsed * cores) > 0.1
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
