"""From window labels to speaker turns with frame-level boundaries.

Windows overlap and are 1.5 s long, so their labels alone place speaker changes
no better than a hop. Each speech frame instead gets, per speaker, the similarity
of the windows covering it to that speaker's centroid (weighted towards the window
centre, where the window is most about that frame), and a Viterbi pass picks the
best speaker sequence with a cost per speaker change: short flickers cost more
than they gain, real changes land where the similarities cross.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dalston.engines.resemblyzer_diarize.embeddings import Window


@dataclass(frozen=True)
class ResegmentOptions:
    frame_s: float = 0.05
    switch_penalty: float = 1.0  # similarity x frames: a 0.1 margin held for 0.5 s
    merge_gap_s: float = 0.6  # same speaker either side of a pause this short
    min_turn_s: float = 0.3  # shorter turns join the speaker they touch


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int


def frame_scores(
    regions: Sequence[tuple[float, float]],
    windows: Sequence[Window],
    similarities: np.ndarray,
    frame_s: float,
) -> np.ndarray:
    """Per frame and speaker, the centre-weighted similarity of covering windows.

    Frames no window covers (speech too short to embed) take the scores of the
    nearest covered frame; frames outside speech are left at zero.
    """
    end = max((e for _, e in regions), default=0.0)
    count = int(np.ceil(end / frame_s))
    centres = (np.arange(count) + 0.5) * frame_s
    total = np.zeros((count, similarities.shape[1]))
    weight = np.zeros(count)
    for window, sims in zip(windows, similarities, strict=True):
        first, last = _frame_range(window.start, window.end, frame_s, count)
        half = max((window.end - window.start) / 2, frame_s)
        # Triangular weight, floored so a window's edge still counts a little.
        w = np.maximum(1 - np.abs(centres[first:last] - window.centre) / half, 0.1)
        total[first:last] += w[:, None] * sims[None, :]
        weight[first:last] += w
    covered = np.flatnonzero(weight > 0)
    scores = np.zeros_like(total)
    if covered.size == 0:
        return scores
    scores[covered] = total[covered] / weight[covered, None]
    for start, stop in regions:
        first, last = _frame_range(start, stop, frame_s, count)
        frames = np.arange(first, last)
        missing = frames[weight[first:last] == 0]
        if missing.size:
            pick = np.searchsorted(covered, missing)
            left = covered[np.clip(pick - 1, 0, covered.size - 1)]
            right = covered[np.clip(pick, 0, covered.size - 1)]
            nearer = np.where(missing - left <= right - missing, left, right)
            scores[missing] = scores[nearer]
    return scores


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """The label sequence maximising summed scores minus ``penalty`` per change."""
    frames, speakers = scores.shape
    if frames == 0:
        return np.zeros(0, dtype=int)
    back = np.zeros((frames, speakers), dtype=int)
    best = scores[0].astype(np.float64).copy()
    for f in range(1, frames):
        leader = int(np.argmax(best))
        switch = best[leader] - penalty
        stay = best >= switch
        back[f] = np.where(stay, np.arange(speakers), leader)
        best = np.where(stay, best, switch) + scores[f]
    path = np.zeros(frames, dtype=int)
    path[-1] = int(np.argmax(best))
    for f in range(frames - 1, 0, -1):
        path[f - 1] = back[f, path[f]]
    return path


def segment(
    regions: Sequence[tuple[float, float]],
    scores: np.ndarray,
    options: ResegmentOptions = ResegmentOptions(),
) -> list[Turn]:
    """Turns over the speech regions, one speaker at a time."""
    count = len(scores)
    turns: list[Turn] = []
    for start, stop in regions:
        first, last = _frame_range(start, stop, options.frame_s, count)
        if last <= first:
            continue
        labels = viterbi(scores[first:last], options.switch_penalty)
        changes = np.flatnonzero(np.diff(labels)) + 1
        bounds = [start, *((first + changes) * options.frame_s), stop]
        edges = [0, *changes, len(labels)]
        turns.extend(
            Turn(float(bounds[i]), float(bounds[i + 1]), int(labels[edges[i]]))
            for i in range(len(edges) - 1)
        )
    return tidy(turns, options)


def tidy(turns: Sequence[Turn], options: ResegmentOptions) -> list[Turn]:
    """Give short turns the speaker they touch, then bridge short pauses."""
    out = _merge(turns, 1e-6)
    short = [i for i, t in enumerate(out) if t.end - t.start < options.min_turn_s]
    # Shortest first, so a flicker takes the label of what surrounds it.
    for i in sorted(short, key=lambda i: out[i].end - out[i].start):
        neighbour = _touching_neighbour(out, i)
        if neighbour is not None:
            out[i] = Turn(out[i].start, out[i].end, out[neighbour].speaker)
    return _merge(out, options.merge_gap_s)


def ensure_speakers(
    turns: list[Turn], count: int, windows: Sequence[Window], sims: np.ndarray
) -> list[Turn]:
    """Give each speaker the smoothing dropped its most typical window.

    A requested speaker count must show in the output; smoothing can erase a
    speaker with little speech, so its best window is written back over the turns.
    """
    present = {t.speaker for t in turns}
    for speaker in range(count):
        if speaker in present or not windows:
            continue
        others = np.delete(sims, speaker, axis=1)
        margin = sims[:, speaker] - (others.max(axis=1) if others.size else 0)
        window = windows[int(np.argmax(margin))]
        turns = _overwrite(turns, Turn(window.start, window.end, speaker))
        present.add(speaker)
    return turns


def _overwrite(turns: Sequence[Turn], new: Turn) -> list[Turn]:
    """``turns`` with ``new`` laid over them, clipped to the speech they cover."""
    out: list[Turn] = []
    inserted: list[Turn] = []
    for turn in turns:
        if turn.end <= new.start or turn.start >= new.end:
            out.append(turn)
            continue
        if turn.start < new.start:
            out.append(Turn(turn.start, new.start, turn.speaker))
        if turn.end > new.end:
            out.append(Turn(new.end, turn.end, turn.speaker))
        inserted.append(
            Turn(max(turn.start, new.start), min(turn.end, new.end), new.speaker)
        )
    return _merge(sorted(out + inserted, key=lambda t: t.start), 1e-6)


def _touching_neighbour(turns: Sequence[Turn], i: int) -> int | None:
    """The longer of the turns that touch turn ``i`` (no pause between)."""
    candidates = []
    if i > 0 and turns[i - 1].end >= turns[i].start - 1e-6:
        candidates.append(i - 1)
    if i + 1 < len(turns) and turns[i + 1].start <= turns[i].end + 1e-6:
        candidates.append(i + 1)
    if not candidates:
        return None
    return max(candidates, key=lambda j: turns[j].end - turns[j].start)


def _merge(turns: Sequence[Turn], gap: float) -> list[Turn]:
    out: list[Turn] = []
    for turn in turns:
        last = out[-1] if out else None
        if last and last.speaker == turn.speaker and turn.start - last.end <= gap:
            out[-1] = Turn(last.start, max(last.end, turn.end), last.speaker)
        else:
            out.append(turn)
    return out


def _frame_range(
    start: float, end: float, frame_s: float, count: int
) -> tuple[int, int]:
    first = min(max(round(start / frame_s), 0), count)
    return first, min(max(round(end / frame_s), first), count)
