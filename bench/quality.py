"""Quality over the shared corpus: WER per model, DER per diarization case, word
timing error with and without the alignment stage, and the time each stage takes.

Run from the repository root (the corpus is ``../shared/corpus`` by default)::

    .venv/bin/python bench/quality.py [--corpus PATH] [--parts asr,align,diar,pii]
        [--models whisper-tiny.en,whisper-base] [--output out.json]

Prints one JSON object. Engines run in this process on the CPU with one thread
each (as the tests do), models loaded once and excluded from stage times.

- ``asr``: every ``kind=asr`` case of ``MANIFEST.tsv`` per model. English-only
  models skip other languages. WER with Whisper's English normalizer (``jiwer``);
  CER for languages written without spaces (ja, zh, th). Pooled per language.
- ``align``: the ``align/*.tsv`` references (one file per case; channel refs are
  scored on their own channel): median/mean absolute word-start error in ms, of
  Whisper's word times and after pocketsphinx alignment, per case and pooled.
- ``diar``: every ``kind=diar`` case, automatic speaker count and the given
  (reference) count: DER (pyannote.metrics, overlap scored, UEM where given) with
  no collar and with a 0.25 s collar, split into missed speech, false alarm and
  confusion, per case and pooled over total reference speech; the speaker-count
  error; the diarize stage's RTFx (automatic count, model load excluded).
- ``pii``: the PII stage over each English reference text (entities found, time).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/quality.py` puts bench/ first
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from dalston.engine_sdk import TaskInput  # noqa: E402
from dalston.eval.engines import loaded_engine  # noqa: E402
from dalston.eval.scoring import cer, wer  # noqa: E402

NO_SPACE_LANGUAGES = {"ja", "zh", "th"}
ENGLISH_ONLY = {"whisper-tiny.en"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "corpus"
    )
    parser.add_argument("--models", default="whisper-tiny.en,whisper-base")
    parser.add_argument("--parts", default="asr,align,diar,pii")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    manifest = args.corpus / "MANIFEST.tsv"
    if not manifest.exists():
        sys.exit(f"no corpus at {args.corpus} (MANIFEST.tsv missing)")
    cases = list(csv.DictReader(manifest.open(), delimiter="\t"))
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {
        "bench": "quality",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "corpus": str(args.corpus),
    }
    if "asr" in parts:
        result["asr"] = {
            model: asr_part(args.corpus, cases, model)
            for model in args.models.split(",")
        }
    if "align" in parts:
        result["align"] = align_part(args.corpus, cases)
    if "diar" in parts:
        result["diar"] = diar_part(args.corpus, cases)
    if "pii" in parts:
        result["pii"] = pii_part(args.corpus, cases)
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text)
    print(text)


# --- engines ----------------------------------------------------------------------
def run(
    engine_id: str,
    stage: str,
    params: dict[str, Any],
    audio: Path | None,
    inputs: dict[str, Any],
    work: Path,
) -> tuple[Any, float]:
    folder = work / stage
    folder.mkdir(exist_ok=True)
    task = TaskInput(
        task_id=stage,
        job_id="bench",
        stage=stage,
        params=params,
        audio_path=audio,
        inputs=inputs,
        work_dir=folder,
    )
    started = time.perf_counter()
    output = loaded_engine(engine_id).process(task)
    return output, time.perf_counter() - started


def stage_summary(seconds: Iterable[float], audio_s: float) -> dict[str, Any]:
    values = list(seconds)
    total = sum(values)
    return {
        "total_s": round(total, 3),
        "median_s": round(statistics.median(values), 4) if values else None,
        "rtfx": round(audio_s / total, 1) if total else None,
    }


# --- parts ------------------------------------------------------------------------
def asr_part(corpus: Path, cases: list[dict[str, str]], model: str) -> dict[str, Any]:
    per_case = []
    by_language: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    times: dict[str, list[float]] = defaultdict(list)
    audio_s = 0.0
    for case in cases:
        if case["kind"] != "asr":
            continue
        language = case["language"]
        if model in ENGLISH_ONLY and language != "en":
            continue
        audio = corpus / case["file"]
        ref_path = audio.with_suffix(".txt")
        if not ref_path.exists():
            continue
        params = {
            "model": model,
            "language": language,
            "timestamps_granularity": "segment",
        }
        with tempfile.TemporaryDirectory(prefix="dalston-quality-") as tmp:
            work = Path(tmp)
            prepared, t_prep = run("audio-prepare", "prepare", params, audio, {}, work)
            wav = prepared.files["audio/prepared.wav"]
            out, t_asr = run(
                "faster-whisper",
                "transcribe",
                params,
                wav,
                {"prepare": prepared.data},
                work,
            )
        times["prepare"].append(t_prep)
        times["transcribe"].append(t_asr)
        audio_s += float(prepared.data["duration"])
        ref = ref_path.read_text().strip()
        hyp = out.data["text"]
        refs, hyps = by_language[language]
        refs.append(ref)
        hyps.append(hyp)
        metric = "cer" if language in NO_SPACE_LANGUAGES else "wer"
        score = (cer if metric == "cer" else wer)([ref], [hyp], language)
        per_case.append(
            {
                "case": case["case_id"],
                "language": language,
                metric: round(score, 4),
                "seconds": round(t_asr, 3),
            }
        )
    pooled = {}
    for language, (refs, hyps) in sorted(by_language.items()):
        metric = "cer" if language in NO_SPACE_LANGUAGES else "wer"
        score = (cer if metric == "cer" else wer)(refs, hyps, language)
        pooled[language] = {metric: round(score, 4), "cases": len(refs)}
    return {
        "pooled": pooled,
        "cases": per_case,
        "stages": {k: stage_summary(v, audio_s) for k, v in times.items()},
        "audio_s": round(audio_s, 1),
    }


def align_part(corpus: Path, cases: list[dict[str, str]]) -> dict[str, Any]:
    from dalston.eval.timing import evaluate_alignment_case, pool

    files = {c["case_id"]: corpus / c["file"] for c in cases}
    per_case = []
    whisper_stats, aligned_stats = [], []
    align_times: list[float] = []
    audio_s = 0.0
    for ref in sorted((corpus / "align").glob("*.tsv")):
        name = ref.stem  # <case> or <case>.chN
        case, _, channel_part = name.partition(".")
        audio = files.get(case)
        if audio is None or not audio.exists():
            continue
        channel = int(channel_part[2:]) if channel_part.startswith("ch") else None
        stereo = (corpus / "align" / f"{case}.ch0.tsv").exists()
        if stereo and channel is None:
            continue  # the union ref: scored per channel instead
        result = evaluate_alignment_case(
            audio, ref, channel=channel, multichannel=channel is not None
        )
        whisper_stats.append(result.whisper)
        aligned_stats.append(result.aligned)
        align_times.append(result.align_seconds)
        audio_s += float(result.source.get("duration") or 0.0)
        per_case.append({"case": name, **result.as_dict()})
    return {
        "pooled": {
            "whisper": pool(whisper_stats).as_dict(),
            "aligned": pool(aligned_stats).as_dict(),
        },
        "cases": per_case,
        "align_stage": stage_summary(align_times, audio_s),
    }


def diar_part(corpus: Path, cases: list[dict[str, str]]) -> dict[str, Any]:
    """DER per case and pooled, with the automatic count and the given count.

    Each case is scored twice from the same run: strictly (no collar) and with the
    usual 0.25 s collar; both score overlapped speech.
    """
    from dalston.eval.der import der_components, evaluate_case, read_rttm, read_uem

    modes = ("auto", "given")
    collars = {"strict": 0.0, "collar_0.25": 0.25}
    totals: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    count_errors: dict[str, list[int]] = {mode: [] for mode in modes}
    per_case = []
    times: list[float] = []
    audio_s = 0.0
    for case in cases:
        if case["kind"] != "diar":
            continue
        wav = corpus / case["file"]
        rttm = wav.with_suffix(".rttm")
        uem_path = wav.with_suffix(".uem")
        uem = read_uem(uem_path) if uem_path.exists() else None
        reference = read_rttm(rttm)
        speakers = len({t["speaker"] for t in reference})
        row: dict[str, Any] = {"case": case["case_id"], "ref_speakers": speakers}
        for mode in modes:
            params = {"num_speakers": speakers} if mode == "given" else {}
            result = evaluate_case(wav, rttm, uem_path if uem else None, **params)
            if mode == "auto":
                times.append(result["seconds"])
                audio_s += result["duration"]
            count_errors[mode].append(result["num_speakers"] - speakers)
            row[mode] = {"speakers": result["num_speakers"]}
            for name, collar in collars.items():
                parts = der_components(
                    reference, result["turns"], uem=uem, collar=collar
                )
                row[mode][name] = {
                    key: round(parts[key], 4 if key == "der" else 3)
                    for key in ("der", "missed", "false_alarm", "confusion", "total")
                }
                for key in ("missed", "false_alarm", "confusion", "total"):
                    totals[(mode, name)][key] += parts[key]
        per_case.append(row)
    pooled: dict[str, dict[str, Any]] = {mode: {} for mode in modes}
    for (mode, name), t in totals.items():
        errors = t["missed"] + t["false_alarm"] + t["confusion"]
        pooled[mode][name] = {
            "der": round(errors / t["total"], 4) if t["total"] else None,
            **{key: round(value, 2) for key, value in t.items()},
        }
    for mode, errors in count_errors.items():
        pooled[mode]["speaker_count"] = {
            "exact": sum(e == 0 for e in errors),
            "cases": len(errors),
            "mean_abs_error": round(statistics.mean(abs(e) for e in errors), 3)
            if errors
            else None,
        }
    return {
        "pooled": pooled,
        "cases": per_case,
        "diarize_stage": stage_summary(times, audio_s),
    }


def pii_part(corpus: Path, cases: list[dict[str, str]]) -> dict[str, Any]:
    found = []
    times = []
    for case in cases:
        if case["kind"] != "asr" or case["language"] != "en":
            continue
        ref = (corpus / case["file"]).with_suffix(".txt")
        if not ref.exists():
            continue
        text = ref.read_text().strip()
        transcript = {
            "text": text,
            "segments": [
                {"id": 0, "start": 0.0, "end": 0.0, "text": text, "words": None}
            ],
        }
        with tempfile.TemporaryDirectory(prefix="dalston-quality-") as tmp:
            out, seconds = run(
                "presidio-pii", "pii", {}, None, {"transcribe": transcript}, Path(tmp)
            )
        times.append(seconds)
        entities = out.data["entities"]
        if entities:
            found.append(
                {
                    "case": case["case_id"],
                    "entities": [(e["entity_type"], e["text"]) for e in entities],
                }
            )
    return {
        "texts": len(times),
        "with_entities": found,
        "pii_stage": {
            "total_s": round(sum(times), 3),
            "median_ms": round(1000 * statistics.median(times), 1) if times else None,
        },
    }


if __name__ == "__main__":
    main()
