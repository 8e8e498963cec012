"""Word-timing error against reference word times (``shared/corpus/align`` TSVs).

A reference is a TSV with a header and the columns ``start_s end_s word``. Words are
compared after the WER normalizer (``scoring.normalize``), one word at a time, and
paired by a sequence alignment (difflib) of the normalized words, so recognition
errors leave words unmatched instead of shifting every pair after them; replaced
stretches that read the same ("eighteen thirteen" / "1813.") pair as one. The error
of a matched word is ``|hyp start - ref start|`` in ms; ``pool`` sums up a corpus.

``evaluate_alignment_case`` runs a clip through prepare -> transcribe -> align and
scores the transcript before and after alignment: what bench code calls.
"""

from __future__ import annotations

import csv
import difflib
import statistics
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dalston.engine_sdk.registry import stage_engine
from dalston.eval.engines import loaded_engine
from dalston.eval.scoring import normalize

# Replaced stretches are searched for words that say the same (see _pairs): up to
# this many words a side, in regions of at most _MAX_REPLACED words a side.
_MAX_STRETCH = 3
_MAX_REPLACED = 16
# Labels aligners write for pauses; the corpus drops them, this drops them again.
SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "h#", "<sil>", "<eps>", "pau"})


@dataclass(frozen=True)
class TimedWord:
    start: float
    end: float
    word: str


@dataclass(frozen=True)
class TimingStats:
    start_errors_ms: tuple[float, ...]  # one per pair, in reference order
    end_errors_ms: tuple[float, ...]
    ref_words: int  # reference words that count (non-empty after normalizing)
    hyp_words: int

    @property
    def matched(self) -> int:
        """Reference words (or stretches, see ``timing_error``) paired."""
        return len(self.start_errors_ms)

    @property
    def median_start_ms(self) -> float | None:  # None when nothing matched
        return _median(self.start_errors_ms)

    @property
    def mean_start_ms(self) -> float | None:
        errors = self.start_errors_ms
        return round(statistics.fmean(errors), 1) if errors else None

    @property
    def median_end_ms(self) -> float | None:
        return _median(self.end_errors_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_start_ms": self.median_start_ms,
            "mean_start_ms": self.mean_start_ms,
            "median_end_ms": self.median_end_ms,
            "matched": self.matched,
            "ref_words": self.ref_words,
            "hyp_words": self.hyp_words,
        }


def pool(stats: Iterable[TimingStats]) -> TimingStats:
    """Several cases as one: the words pooled (not a mean of per-case medians)."""
    items = list(stats)
    return TimingStats(
        start_errors_ms=tuple(e for s in items for e in s.start_errors_ms),
        end_errors_ms=tuple(e for s in items for e in s.end_errors_ms),
        ref_words=sum(s.ref_words for s in items),
        hyp_words=sum(s.hyp_words for s in items),
    )


def _median(errors: Sequence[float]) -> float | None:
    return round(statistics.median(errors), 1) if errors else None


def read_reference(path: Path) -> list[TimedWord]:
    """Words of a reference TSV, silence labels dropped."""
    words = []
    with Path(path).open(newline="", encoding="utf-8") as src:
        for row in csv.DictReader(src, delimiter="\t"):
            word = (row.get("word") or "").strip()
            if word.lower() in SILENCE_LABELS:
                continue
            words.append(TimedWord(float(row["start_s"]), float(row["end_s"]), word))
    return words


def transcript_words(
    transcript: Mapping[str, Any], channel: int | None = None
) -> list[TimedWord]:
    """The timed words of a transcript-shaped dict (one channel's, if given),
    in time order; segments without words contribute nothing."""
    words = [
        TimedWord(float(w["start"]), float(w["end"]), str(w["text"]))
        for segment in transcript.get("segments") or ()
        if channel is None or segment.get("channel") == channel
        for w in segment.get("words") or ()
    ]
    return sorted(words, key=lambda w: w.start)


def timing_error(
    reference: Sequence[TimedWord],
    hypothesis: Sequence[TimedWord],
    language: str = "en",
) -> TimingStats:
    """Start (and end) errors of the hypothesis words paired with reference words.

    Pairs come from the matching blocks of a difflib alignment of the normalized
    tokens, and from replaced stretches that say the same once normalized together
    (ref "eighteen thirteen", hyp "1813."): their first words' starts and last
    words' ends are compared. ``matched`` counts the pairs.
    """
    pairs = _pairs(reference, hypothesis, language)
    return TimingStats(
        start_errors_ms=tuple(
            abs(hypothesis[h].start - reference[r].start) * 1000 for r, _, h, _ in pairs
        ),
        end_errors_ms=tuple(
            abs(hypothesis[h].end - reference[r].end) * 1000 for _, r, _, h in pairs
        ),
        ref_words=len(set(_tokens(reference, language)[1])),
        hyp_words=len(hypothesis),
    )


def _pairs(
    reference: Sequence[TimedWord], hypothesis: Sequence[TimedWord], language: str
) -> list[tuple[int, int, int, int]]:
    """(ref first, ref last, hyp first, hyp last) word indices of each pair."""
    ref_tokens, ref_owner = _tokens(reference, language)
    hyp_tokens, hyp_owner = _tokens(hypothesis, language)
    matcher = difflib.SequenceMatcher(a=ref_tokens, b=hyp_tokens, autojunk=False)
    pairs: list[tuple[int, int, int, int]] = []
    seen: set[int] = set()  # a word normalized to several tokens pairs once
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                r, h = ref_owner[i1 + k], hyp_owner[j1 + k]
                if r not in seen:
                    seen.add(r)
                    pairs.append((r, r, h, h))
        elif tag == "replace":
            refs = sorted(set(ref_owner[i1:i2]) - seen)
            hyps = sorted(set(hyp_owner[j1:j2]))
            for ref_run, hyp_run in _same_stretches(
                reference, refs, hypothesis, hyps, language
            ):
                seen.update(ref_run)
                pairs.append((ref_run[0], ref_run[-1], hyp_run[0], hyp_run[-1]))
    return pairs


def _same_stretches(
    reference: Sequence[TimedWord],
    refs: Sequence[int],
    hypothesis: Sequence[TimedWord],
    hyps: Sequence[int],
    language: str,
) -> list[tuple[Sequence[int], Sequence[int]]]:
    """Runs of up to ``_MAX_STRETCH`` words a side that normalize to the same text
    ("eighteen thirteen" and "1813."), earliest first, in order."""
    if not refs or not hyps or len(refs) * len(hyps) > _MAX_REPLACED**2:
        return []
    starts = sorted(
        ((i, j) for i in range(len(refs)) for j in range(len(hyps))),
        key=lambda ij: (ij[0] + ij[1], ij),
    )
    for i, j in starts:
        for a in range(1, min(_MAX_STRETCH, len(refs) - i) + 1):
            for b in range(1, min(_MAX_STRETCH, len(hyps) - j) + 1):
                if a == b == 1:
                    continue  # one word for one: the token alignment said no
                ref_run, hyp_run = refs[i : i + a], hyps[j : j + b]
                if _joined(reference, ref_run, language) == _joined(
                    hypothesis, hyp_run, language
                ):
                    rest = _same_stretches(
                        reference, refs[i + a :], hypothesis, hyps[j + b :], language
                    )
                    return [(ref_run, hyp_run), *rest]
    return []


def _joined(words: Sequence[TimedWord], indices: Sequence[int], language: str) -> str:
    text = " ".join(words[i].word for i in indices)
    return normalize(text, language).replace(" ", "")


def _tokens(words: Iterable[TimedWord], language: str) -> tuple[list[str], list[int]]:
    """Normalized tokens and, for each, the index of the word it came from."""
    tokens: list[str] = []
    owners: list[int] = []
    for index, word in enumerate(words):
        for token in normalize(word.word, language).split():
            tokens.append(token)
            owners.append(index)
    return tokens, owners


# --- a corpus case through the real engines -------------------------------------


@dataclass(frozen=True)
class AlignmentCase:
    whisper: TimingStats  # the transcribe stage's word times
    aligned: TimingStats  # after the align stage
    align_seconds: float  # the align stage's wall time
    alignment: dict[str, Any]  # the align stage's "alignment" summary
    transcript: dict[str, Any]  # the aligned transcript
    source: dict[str, Any]  # the transcribe stage's transcript

    def as_dict(self) -> dict[str, Any]:
        return {
            "whisper": self.whisper.as_dict(),
            "aligned": self.aligned.as_dict(),
            "align_seconds": round(self.align_seconds, 3),
            "alignment": self.alignment,
        }


def evaluate_alignment_case(
    audio: Path,
    reference: str | Path | Sequence[TimedWord],
    *,
    channel: int | None = None,
    multichannel: bool = False,
    model: str | None = None,
    language: str | None = None,
) -> AlignmentCase:
    """Transcribe ``audio`` (any format) with word timestamps, align it, and score
    the word starts before and after alignment against ``reference``.

    ``channel`` scores one channel's words of a ``multichannel`` transcript (the
    corpus ``<case>.chN.tsv`` refs). Engines load once per process and are reused.
    """
    from dalston.engine_sdk import TaskInput

    ref: Sequence[TimedWord] = (
        read_reference(Path(reference))
        if isinstance(reference, str | Path)
        else reference
    )
    prepare, transcribe, align = (
        loaded_engine(stage_engine("prepare")),
        loaded_engine(stage_engine("transcribe")),
        loaded_engine(stage_engine("align")),
    )
    params: dict[str, Any] = {
        "model": model or transcribe.config.default_model,
        "timestamps_granularity": "word",
        "multichannel": multichannel,
    }
    if language:
        params["language"] = language
    with tempfile.TemporaryDirectory(prefix="dalston-timing-") as tmp:
        work = Path(tmp)

        def task(stage: str, path: Path, inputs: dict[str, Any]) -> TaskInput:
            (work / stage).mkdir()
            return TaskInput(
                task_id=stage,
                job_id="eval",
                stage=stage,
                params=params,
                audio_path=path,
                inputs=inputs,
                work_dir=work / stage,
            )

        prepared = prepare.process(task("prepare", Path(audio), {}))
        wav = prepared.files["audio/prepared.wav"]
        whisper = transcribe.process(
            task("transcribe", wav, {"prepare": prepared.data})
        )
        started = time.perf_counter()
        aligned = align.process(task("align", wav, {"transcribe": whisper.data}))
        seconds = time.perf_counter() - started
    lang = str(whisper.data.get("language_code") or "en")
    return AlignmentCase(
        whisper=timing_error(ref, transcript_words(whisper.data, channel), lang),
        aligned=timing_error(ref, transcript_words(aligned.data, channel), lang),
        align_seconds=seconds,
        alignment=dict(aligned.data["alignment"]),
        transcript=aligned.data,
        source=whisper.data,
    )
