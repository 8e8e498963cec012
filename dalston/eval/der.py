"""Diarization error rate as the literature computes it (pyannote.metrics).

DER = (missed speech + false alarm + speaker confusion) / reference speech, with
the best one-to-one mapping of hypothesis speakers to reference speakers. The
defaults are the strict ones: no forgiveness collar around reference boundaries and
overlapped speech scored too (``collar=0``, ``skip_overlap=False``).

RTTM lines: ``SPEAKER <uri> <channel> <start> <duration> <NA> <NA> <speaker> <NA>
<NA>``; UEM lines: ``<uri> <channel> <start> <end>`` (the scored part of the file).

``evaluate_case`` runs a diarize engine on one audio file end to end (decode as the
prepare stage does, diarize, score) for tests and ``bench/quality.py``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dalston.engine_sdk.registry import stage_engine
from dalston.eval.engines import loaded_engine

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline


Turn = Mapping[str, Any]  # {"start": float, "end": float, "speaker": str}


def turns_to_annotation(turns: Iterable[Turn], uri: str = "audio") -> Annotation:
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        start, end = float(turn["start"]), float(turn["end"])
        if end > start:
            annotation[Segment(start, end), index] = str(turn["speaker"])
    return annotation


def annotation_to_turns(annotation: Annotation) -> list[dict[str, Any]]:
    return [
        {"start": segment.start, "end": segment.end, "speaker": str(label)}
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]


def read_rttm(path: Path) -> list[dict[str, Any]]:
    """The turns of an RTTM file (every ``SPEAKER`` line, whatever its uri)."""
    turns: list[dict[str, Any]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] != "SPEAKER":
            continue
        start, duration = float(fields[3]), float(fields[4])
        turns.append({"start": start, "end": start + duration, "speaker": fields[7]})
    return turns


def write_rttm(path: Path, turns: Iterable[Turn], uri: str = "audio") -> None:
    lines = [
        f"SPEAKER {uri} 1 {float(t['start']):.3f} "
        f"{float(t['end']) - float(t['start']):.3f} <NA> <NA> {t['speaker']} <NA> <NA>"
        for t in turns
    ]
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_uem(path: Path) -> list[tuple[float, float]]:
    """The scored spans of a UEM file, ``(start, end)`` in seconds."""
    spans: list[tuple[float, float]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 4:
            spans.append((float(fields[2]), float(fields[3])))
    return spans


def der_components(
    reference: Iterable[Turn],
    hypothesis: Iterable[Turn],
    *,
    uem: Sequence[tuple[float, float]] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> dict[str, float]:
    """Seconds of ``total`` reference speech, ``missed``, ``false_alarm``,
    ``confusion``, and their ratio ``der``."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    ref = turns_to_annotation(reference)
    hyp = turns_to_annotation(hypothesis)
    with warnings.catch_warnings():
        # Without a UEM, pyannote scores the union of both extents and says so.
        warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
        parts = metric(ref, hyp, detailed=True, uem=_timeline(uem))
    total = float(parts["total"])
    missed = float(parts["missed detection"])
    false_alarm = float(parts["false alarm"])
    confusion = float(parts["confusion"])
    errors = missed + false_alarm + confusion
    return {
        "total": total,
        "missed": missed,
        "false_alarm": false_alarm,
        "confusion": confusion,
        # No reference speech: any hypothesis speech is an error, none is perfect.
        "der": errors / total if total > 0 else (0.0 if errors == 0 else 1.0),
    }


def der(
    reference: Iterable[Turn],
    hypothesis: Iterable[Turn],
    *,
    uem: Sequence[tuple[float, float]] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> float:
    return der_components(
        reference, hypothesis, uem=uem, collar=collar, skip_overlap=skip_overlap
    )["der"]


def evaluate_case(
    wav: Path,
    rttm: Path,
    uem: Path | None = None,
    *,
    engine_id: str | None = None,  # default: the diarize stage's engine
    collar: float = 0.0,
    skip_overlap: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """Diarize ``wav`` with the engine and score it against ``rttm``.

    ``params`` are the diarize stage's (``num_speakers``, ``min_speakers``,
    ``max_speakers``, ``diarization_threshold``). Returns the DER components (see
    ``der_components``), ``num_speakers`` found and in the reference, the audio
    duration, the engine's wall time (``seconds``, model load excluded) and the
    hypothesis ``turns``.
    """
    from dalston.audio import SAMPLE_RATE, decode_to_mono, write_wav16k
    from dalston.engine_sdk import TaskInput

    reference = read_rttm(rttm)
    spans = read_uem(uem) if uem is not None else None
    engine = loaded_engine(engine_id or stage_engine("diarize"))
    with tempfile.TemporaryDirectory(prefix="dalston-der-") as tmp:
        work = Path(tmp)
        # What the prepare stage hands the diarize stage: 16 kHz mono 16-bit WAV.
        samples, _ = decode_to_mono(Path(wav))
        prepared = work / "prepared.wav"
        write_wav16k(prepared, samples)
        task = TaskInput(
            task_id="eval",
            job_id="eval",
            stage="diarize",
            params=dict(params),
            audio_path=prepared,
            inputs={},
            work_dir=work,
        )
        started = time.perf_counter()
        output = engine.process(task)
        seconds = time.perf_counter() - started
    turns = list(output.data["turns"])
    scores = der_components(
        reference, turns, uem=spans, collar=collar, skip_overlap=skip_overlap
    )
    return {
        **scores,
        "num_speakers": int(output.data["num_speakers"]),
        "ref_speakers": len({t["speaker"] for t in reference}),
        "duration": samples.shape[-1] / SAMPLE_RATE,
        "seconds": seconds,
        "turns": turns,
    }


def _timeline(spans: Sequence[tuple[float, float]] | None) -> Timeline | None:
    if spans is None:
        return None
    from pyannote.core import Segment, Timeline

    return Timeline([Segment(s, e) for s, e in spans if e > s])
