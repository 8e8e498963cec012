"""Which audio each run of words is aligned against, and writing the times back.

Whisper's segment bounds are not pauses: a segment often ends mid-phrase and its
last word's time swallows the next segment's first words. Aligning such segments one
by one lets the padding of one window take in its neighbour's speech, which the
aligner then stretches the edge words over. So segments of one channel that follow
each other closely (``JOIN_GAP_S``) are aligned together, up to ``MAX_CHUNK_S``,
over their bounds widened by ``PAD_S``; a run that fails falls back to one segment
at a time, and a segment that still fails keeps Whisper's times.

Runs at least ``2 * PAD_S`` apart cannot touch: neither window reaches the other's
words, so the time floor one run leaves never moves the next. Such stretches are
aligned side by side (one aligner process each, ``parallel`` at once), with the
same result as one after another; and a stretch already aligned in a transcript's
earlier version (while the rest was being transcribed) is taken as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dalston.engines.pocketsphinx_align.aligner import SAMPLE_RATE, WordTiming

# How far around Whisper's bounds the words may be found: Whisper misses by up to
# a few hundred ms, and a wider window takes in more of a neighbour's speech.
PAD_S = 0.5
# Segments closer than this (Whisper's times) are aligned as one run.
JOIN_GAP_S = 1.0
# A run stops growing here: the search's cost and a misstep's reach grow with it.
MAX_CHUNK_S = 60.0
# Shorter windows hold no word the decoder can fit (it needs frames per phone).
MIN_WINDOW_S = 0.05

Segment = dict[str, Any]


class TextAligner(Protocol):
    """``Aligner`` in this process or ``DecoderPool``'s child processes."""

    def align_texts(
        self, samples: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[list[str]], list[WordTiming] | None]: ...


class Track(Protocol):
    """One channel's samples, read a span at a time."""

    @property
    def duration(self) -> float: ...

    def read(self, start: int, end: int) -> np.ndarray: ...


@dataclass
class TrackResult:
    aligned_words: int = 0
    failed_segments: list[Any] = field(default_factory=list)  # segment ids


@dataclass(frozen=True)
class Retimed:
    """One stretch's alignment: each segment's bounds and word times, the words
    aligned and the positions of the segments that kept Whisper's times."""

    times: tuple[tuple[float, float, tuple[tuple[float, float], ...]], ...]
    aligned_words: int
    failed: tuple[int, ...]


# Stretches aligned before, by their content (``_key``): the same words at the
# same Whisper times in the same recording align the same way.
Known = dict[tuple[Any, ...], Retimed]


def retime_track(
    aligner: TextAligner,
    segments: Sequence[Segment],
    track: Track,
    check_cancelled: Callable[[], None],
    *,
    parallel: int = 1,
    known: Known | None = None,
    open_end: bool = False,
) -> TrackResult:
    """Retime, in place, the words of one channel's segments (time order, each
    with words) against that channel's samples, read span by span; up to
    ``parallel`` independent stretches at once (``track.read`` must then be
    safe to call from several threads).

    ``known``: stretches aligned before (a transcript's earlier version, while
    it was being transcribed): taken as they are; those aligned now are added.
    ``open_end``: the segments are a transcript so far, whose last stretch may
    still grow: it is left as it is."""
    duration = track.duration
    stretches = _stretches(_chunks(segments))
    if open_end:
        stretches = stretches[:-1]
    known = {} if known is None else known
    # Each stretch: its runs, its segments in order, and its key.
    keyed = []
    for chunks in stretches:
        flat = [segment for chunk in chunks for segment in chunk]
        keyed.append((chunks, flat, _key(flat)))

    def retime(item: tuple[list[list[Segment]], list[Segment], Any]) -> None:
        chunks, flat, key = item
        aligned, failed = _retime_chunks(
            aligner, chunks, track, check_cancelled, duration
        )
        kept = {id(segment) for segment in failed}
        known[key] = Retimed(
            times=tuple(
                (
                    segment["start"],
                    segment["end"],
                    tuple((w["start"], w["end"]) for w in segment["words"]),
                )
                for segment in flat
            ),
            aligned_words=aligned,
            failed=tuple(i for i, s in enumerate(flat) if id(s) in kept),
        )

    todo = [item for item in keyed if item[2] not in known]
    workers = min(parallel, len(todo))
    if workers <= 1:
        for item in todo:
            retime(item)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="align") as pool:
            list(pool.map(retime, todo))
    result = TrackResult()
    for _, flat, key in keyed:
        done = known[key]
        for segment, (start, end, words) in zip(flat, done.times, strict=True):
            segment["start"], segment["end"] = start, end
            for word, (word_start, word_end) in zip(
                segment["words"], words, strict=True
            ):
                word["start"], word["end"] = word_start, word_end
        result.aligned_words += done.aligned_words
        result.failed_segments.extend(flat[i].get("id") for i in done.failed)
    return result


def _key(segments: list[Segment]) -> tuple[Any, ...]:
    """What a stretch's alignment depends on: its segments' channels, text and
    Whisper's times (the recording is the task's)."""
    return tuple(
        (
            segment.get("channel"),
            segment["start"],
            segment["end"],
            tuple((str(w["text"]), w["start"], w["end"]) for w in segment["words"]),
        )
        for segment in segments
    )


def _stretches(chunks: list[list[Segment]]) -> list[list[list[Segment]]]:
    """The runs grouped where no run's window can reach into the next one's."""
    stretches: list[list[list[Segment]]] = []
    for chunk in chunks:
        if stretches:
            gap = _first_start(chunk[0]) - _last_end(stretches[-1][-1][-1])
            if gap < 2 * PAD_S:
                stretches[-1].append(chunk)
                continue
        stretches.append([chunk])
    return stretches


def _retime_chunks(
    aligner: TextAligner,
    chunks: list[list[Segment]],
    track: Track,
    check_cancelled: Callable[[], None],
    duration: float,
) -> tuple[int, list[Segment]]:
    """Retime one stretch's runs in place; the words aligned and the segments
    that kept Whisper's times."""
    aligned = 0
    failed: list[Segment] = []
    # Where the words before end: later windows start no earlier, so words keep
    # their order across runs.
    floor = 0.0
    for chunk in chunks:
        check_cancelled()
        count = _align_run(aligner, chunk, track, floor, duration)
        if count is not None:
            aligned += count
        else:
            for segment in chunk:
                check_cancelled()
                if len(chunk) > 1:
                    count = _align_run(aligner, [segment], track, floor, duration)
                if count is None:
                    failed.append(segment)
                    _keep_in_order(segment["words"], floor, duration)
                else:
                    aligned += count
                floor = max(floor, segment["words"][-1]["end"])
        floor = max(floor, chunk[-1]["words"][-1]["end"])
    return aligned, failed


def _keep_in_order(words: list[dict[str, Any]], floor: float, duration: float) -> None:
    """Whisper's times for words that could not be aligned, moved only as far as
    needed to stay after the words before them and inside the audio."""
    _apply(
        words, [(float(w["start"]), float(w["end"])) for w in words], floor, duration
    )


def _chunks(segments: Sequence[Segment]) -> list[list[Segment]]:
    chunks: list[list[Segment]] = []
    for segment in segments:
        if chunks:
            run = chunks[-1]
            gap = _first_start(segment) - _last_end(run[-1])
            if gap < JOIN_GAP_S and _last_end(segment) - _first_start(run[0]) <= (
                MAX_CHUNK_S
            ):
                run.append(segment)
                continue
        chunks.append([segment])
    return chunks


def _first_start(segment: Segment) -> float:
    return float(min(segment["start"], segment["words"][0]["start"]))


def _last_end(segment: Segment) -> float:
    return float(max(segment["end"], segment["words"][-1]["end"]))


def _align_run(
    aligner: TextAligner,
    run: list[Segment],
    track: Track,
    floor: float,
    duration: float,
) -> int | None:
    """Retime the run's words in place; the number aligned, or None (then the
    words are left as they were)."""
    words = [w for segment in run for w in segment["words"]]
    start = max(floor, _first_start(run[0]) - PAD_S, 0.0)
    end = min(_last_end(run[-1]) + PAD_S, duration)
    if end - start < MIN_WINDOW_S:
        return None
    first = round(start * SAMPLE_RATE)
    spoken, timings = aligner.align_texts(
        track.read(first, round(end * SAMPLE_RATE)), [str(w["text"]) for w in words]
    )
    if timings is None:
        return None
    offset = first / SAMPLE_RATE
    spans: list[tuple[float, float] | None] = []
    cursor = 0
    for parts in spoken:
        if not parts:
            spans.append(None)  # pure punctuation: placed between neighbours below
            continue
        head, tail = timings[cursor], timings[cursor + len(parts) - 1]
        spans.append((head.start + offset, tail.end + offset))
        cursor += len(parts)
    _apply(words, spans, floor, duration)
    for segment in run:
        segment["start"] = segment["words"][0]["start"]
        segment["end"] = segment["words"][-1]["end"]
    return sum(span is not None for span in spans)


def _apply(
    words: list[dict[str, Any]],
    spans: list[tuple[float, float] | None],
    floor: float,
    duration: float,
) -> None:
    """Write the spans into the words, clamped to the audio and kept in order. An
    unspoken word (no span: punctuation) gets no duration, at the end of the word
    before it or, first in the run, at the start of the word after it."""
    next_start: list[float | None] = []
    upcoming: float | None = None
    for span in reversed(spans):
        upcoming = span[0] if span is not None else upcoming
        next_start.append(upcoming)
    next_start.reverse()
    previous_end: float | None = None
    for word, span, after in zip(words, spans, next_start, strict=True):
        if span is not None:
            start, end = span
        else:
            start = end = previous_end if previous_end is not None else after or floor
        start = min(max(start, previous_end or floor, 0.0), duration)
        end = min(max(end, start), duration)
        word["start"], word["end"] = round(start, 3), round(end, 3)
        previous_end = end
