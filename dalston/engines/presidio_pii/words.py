"""Where each transcript word sits in ``text``, and so when an entity was said.

``text`` is the segments' texts joined by a space, and the segments' words spell
those texts, usually with punctuation attached ("Smith,"). Words are located in
order with a cursor; a word that cannot be found close to the cursor gets no
offsets, and an entity whose first or last character no located word covers gets
no times (``None``) rather than wrong ones.

Multichannel transcripts list segments by time across channels while ``text``
holds channel 0's text, then channel 1's: each channel gets its own cursor,
starting where its text begins.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A word may be found after at most this many unmatched words of ``text``
# (words the transcript's text has and its word list lacks).
MAX_SKIPPED_WORDS = 2
_SEARCH_WINDOW = 120  # characters: a few words, however long

_WORD = re.compile(r"\w+")
_SKIP = re.compile(r"\W*")
# Punctuation Whisper attaches to words ("Smith," "(555)").
_EDGES = re.compile(r"^\W+|\W+$")


@dataclass(frozen=True)
class WordSpan:
    start_char: int
    end_char: int
    start: float | None  # audio seconds
    end: float | None


class WordIndex:
    """The transcript's words located in its ``text``, sorted by offset."""

    def __init__(self, transcript: Mapping[str, Any]) -> None:
        self.text = str(transcript.get("text") or "")
        self.spans = locate_words(transcript, self.text)
        self._starts = [s.start_char for s in self.spans]

    def times(
        self, start_char: int, end_char: int
    ) -> tuple[float | None, float | None]:
        """Audio start and end of the words covering ``text[start_char:end_char]``.

        The entity's first and last word characters must both lie in located
        words with times; between them, the time range also covers any word
        that was not located.
        """
        inner = [m.span() for m in _WORD.finditer(self.text, start_char, end_char)]
        if inner:
            first, last = inner[0][0], inner[-1][1] - 1
        else:
            first, last = start_char, end_char - 1
        covering: list[WordSpan] = []
        # Words do not overlap, so walk back from the last one starting before
        # the entity's end until one ends before its start.
        index = bisect.bisect_left(self._starts, end_char) - 1
        while index >= 0 and self.spans[index].end_char > start_char:
            covering.append(self.spans[index])
            index -= 1
        if not any(s.start_char <= first < s.end_char for s in covering):
            return None, None
        if not any(s.start_char <= last < s.end_char for s in covering):
            return None, None
        starts = [s.start for s in covering if s.start is not None]
        ends = [s.end for s in covering if s.end is not None]
        if len(starts) < len(covering) or len(ends) < len(covering):
            return None, None
        return min(starts), max(ends)


def locate_words(transcript: Mapping[str, Any], text: str) -> list[WordSpan]:
    """The words of ``transcript`` that could be found in ``text``, by offset."""
    cursors = _channel_starts(transcript, text)
    spans: list[WordSpan] = []
    for segment in transcript.get("segments") or []:
        key = segment.get("channel")
        cursor = cursors.get(key, cursors[None])
        for word in segment.get("words") or []:
            found = _find(text, str(word.get("text") or ""), cursor)
            if found is None:
                continue
            start_char, cursor = found
            spans.append(
                WordSpan(start_char, cursor, _time(word, "start"), _time(word, "end"))
            )
        cursors[key] = cursor
    spans.sort(key=lambda s: s.start_char)
    return spans


def _channel_starts(transcript: Mapping[str, Any], text: str) -> dict[int | None, int]:
    """Offset of each channel's text in ``text`` (channels are joined in order)."""
    starts: dict[int | None, int] = {None: 0}
    cursor = 0
    for channel in transcript.get("channels") or []:
        if not isinstance(channel, Mapping):
            continue
        channel_text = str(channel.get("text") or "")
        index = text.find(channel_text, cursor) if channel_text else -1
        if index >= 0:
            starts[channel.get("channel_index")] = index
            cursor = index + len(channel_text)
    return starts


def _find(text: str, word: str, cursor: int) -> tuple[int, int] | None:
    """Offsets of ``word`` at or after ``cursor``.

    Tried in turn, as typed and then without its punctuation and case ("Smith,"
    vs "smith"): next after the cursor (only spaces or punctuation between);
    else as a whole word at most ``MAX_SKIPPED_WORDS`` words further. Last, next
    after the cursor inside a longer run of letters, for languages written
    without spaces.
    """
    needle = word.strip()
    core = _EDGES.sub("", needle)
    skipped = _SKIP.match(text, cursor)  # \W* matches anywhere, even empty
    here = skipped.end() if skipped else cursor
    # The common case, without regular expressions: the text spells the word
    # list, so the word is right here (a transcript can hold 100k words).
    for candidate in (needle, core):
        end = here + len(candidate)
        if candidate and text.startswith(candidate, here) and _word_ends(text, end):
            return here, end
    patterns = [(re.escape(p), f) for p, f in ((needle, 0), (core, re.I)) if p]
    for pattern, flags in patterns:
        whole = re.compile(rf"(?<!\w){pattern}(?!\w)", flags)
        # A word this far ahead would be past MAX_SKIPPED_WORDS anyway.
        window = min(len(text), here + len(needle) + _SEARCH_WINDOW)
        match = whole.match(text, here) or whole.search(text, cursor, window)
        if match and len(_WORD.findall(text, cursor, match.start())) <= (
            MAX_SKIPPED_WORDS
        ):
            return match.span()
    for pattern, flags in patterns:
        match = re.compile(pattern, flags).match(text, here)
        if match:
            return match.span()
    return None


def _word_ends(text: str, index: int) -> bool:
    return index >= len(text) or not (text[index].isalnum() or text[index] == "_")


def _time(word: Mapping[str, Any], key: str) -> float | None:
    value = word.get(key)
    return None if value is None else float(value)
