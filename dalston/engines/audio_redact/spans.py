"""Entity times -> merged redaction spans, in seconds and in samples."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    def samples(self, sample_rate: int) -> tuple[int, int]:
        """First and one-past-last sample index: every sample whose time falls in
        ``[start, end)`` plus the partial sample at each edge (floor / ceil), so
        rounding never leaves a sliver of the entity audible. Rounded to 1e-6
        first, so float noise (0.3 * 16000 = 4800.000000000001) adds no sample.
        """
        first = math.floor(round(self.start * sample_rate, 6))
        stop = math.ceil(round(self.end * sample_rate, 6))
        return max(first, 0), max(stop, 0)


def merge_spans(entities: Iterable[Mapping[str, Any]]) -> list[Span]:
    """Sorted, non-overlapping spans covering every entity that has audio times.

    Entities without times (words that could not be located) are skipped; spans
    that overlap or touch are merged into one.
    """
    raw = sorted(
        (max(float(e["start"]), 0.0), float(e["end"]))
        for e in entities
        if e.get("start") is not None and e.get("end") is not None
    )
    merged: list[Span] = []
    for start, end in raw:
        if end <= start:
            continue
        if merged and start <= merged[-1].end:
            last = merged.pop()
            merged.append(Span(last.start, max(last.end, end)))
        else:
            merged.append(Span(start, end))
    return merged
