"""Per-speaker figures of a transcript, one rule for every way speakers are found."""

from __future__ import annotations

from collections.abc import Iterable


def talk_times(spans: Iterable[tuple[str, float, float]]) -> dict[str, float]:
    """Seconds each speaker talks: the union of its ``(speaker, start, end)`` spans.

    A speaker's own spans may overlap (diarization turns, a segment and its
    words); counted once. Two speakers talking at once each get the time.
    """
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for speaker, start, end in spans:
        if end > start:
            by_speaker.setdefault(speaker, []).append((start, end))
    totals: dict[str, float] = {}
    for speaker, pieces in by_speaker.items():
        total, reach = 0.0, float("-inf")
        for start, end in sorted(pieces):
            if end > reach:
                total += end - max(start, reach)
                reach = end
        totals[speaker] = round(total, 3)
    return totals
