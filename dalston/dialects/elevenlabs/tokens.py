"""Transcript segments as ElevenLabs tokens: words and audio events.

Whisper writes non-speech as bracketed text: ``(laughter)``, ``[Music]``,
``*applause*``, ``♪``. Faster-whisper splits such a tag over several "words"
(``(audience``, ``laughing)``); here the pieces are joined back into one
``audio_event`` token. With ``tag_audio_events=false`` the tags are dropped from
the tokens and from the text instead.

Segments without word times (``timestamps_granularity=none``) become tokens split
from the text, with times spread over the segment by character position and
``timed=False``: the response then shows no times, exports still can.

A word is what the text writes between spaces: Whisper's pieces that the segment
text writes together (``m'`` + ``appelle``, ``self`` + ``-substantial``) become
one token, so the text, the words and every export read "m'appelle" (in a
language written without spaces each piece stays a token of its own).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from dalston.transcript.model import Segment, Word
from dalston.transcript.text import separators

_CLOSERS = {"(": ")", "[": "]", "*": "*", "♪": "♪"}
_TRAILING = ".,!?;:\"'"
_EVENT_TEXT = re.compile(
    r"\([^()]*\)|\[[^\[\]]*\]|\*[^*\s][^*]*\*|♪[^♪]*♪|♪", flags=re.UNICODE
)
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")
_MIN_PROB = 1e-10


@dataclass(frozen=True)
class Token:
    text: str
    start: float
    end: float
    kind: str  # "word" | "audio_event"
    logprob: float
    speaker: str | None = None
    channel: int | None = None
    timed: bool = True
    # What the segment text writes before this token: "" in a language written
    # without spaces (or after an elided piece there), else " "; exports join by it.
    sep: str = " "


def logprob(confidence: float | None) -> float:
    """ln(p) of a word probability in 0..1; 0.0 when unknown. Always <= 0."""
    if confidence is None:
        return 0.0
    return min(0.0, math.log(min(max(confidence, _MIN_PROB), 1.0)))


def strip_audio_events(text: str) -> str:
    """The text without bracketed non-speech tags, spacing tidied."""
    cleaned = _EVENT_TEXT.sub(" ", text)
    cleaned = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", cleaned))
    return cleaned.strip()


def segment_tokens(segment: Segment, *, tag_audio_events: bool) -> list[Token]:
    words = segment.words
    timed = words is not None
    if words is None:
        words = _words_from_text(segment)
    tokens = _group_events(words, segment)
    if not timed:
        tokens = [_untimed(t) for t in tokens]
    if not tag_audio_events:
        tokens = [t for t in tokens if t.kind != "audio_event"]
    return tokens


def _untimed(token: Token) -> Token:
    return replace(token, timed=False)


def _words_from_text(segment: Segment) -> list[Word]:
    pieces = segment.text.split()
    total = sum(len(p) for p in pieces) or 1
    span = max(segment.end - segment.start, 0.0)
    confidence = (
        math.exp(min(segment.avg_logprob, 0.0))
        if segment.avg_logprob is not None
        else None
    )
    words, done = [], 0
    for piece in pieces:
        start = segment.start + span * done / total
        done += len(piece)
        words.append(
            Word(
                text=piece,
                start=round(start, 3),
                end=round(segment.start + span * done / total, 3),
                confidence=confidence,
                speaker=segment.speaker,
                channel=segment.channel,
            )
        )
    return words


def _group_events(words: list[Word], segment: Segment) -> list[Token]:
    seps = separators([w.text.strip() for w in words], segment.text)
    spaced = " " in segment.text.strip()
    tokens: list[Token] = []
    index = 0
    while index < len(words):
        last = _event_end(words, index)
        kind = "audio_event"
        if last is None:
            kind, last = "word", index
            while spaced and last + 1 < len(words) and seps[last + 1] == "":
                last += 1  # glued to the piece before it: the same word
        token = _token(words[index : last + 1], seps[index : last + 1], kind, segment)
        tokens.append(replace(token, sep=seps[index] if tokens else ""))
        index = last + 1
    return tokens


def _event_end(words: list[Word], index: int) -> int | None:
    """Index of the word closing a tag opened by ``words[index]``, or None."""
    text = words[index].text.strip()
    if not text or text[0] not in _CLOSERS:
        return None
    closer = _CLOSERS[text[0]]
    if text == "♪":
        return index
    for end in range(index, len(words)):
        piece = words[end].text.strip().rstrip(_TRAILING)
        body = piece[1:] if end == index else piece
        if body.endswith(closer):
            return end
    return None


def _token(words: list[Word], seps: list[str], kind: str, segment: Segment) -> Token:
    probs = [logprob(w.confidence) for w in words]
    return Token(
        text="".join(
            (sep if i else "") + w.text.strip()
            for i, (sep, w) in enumerate(zip(seps, words, strict=True))
        ),
        start=words[0].start,
        end=words[-1].end,
        kind=kind,
        logprob=sum(probs) / len(probs),
        speaker=words[0].speaker or segment.speaker,
        channel=words[0].channel if words[0].channel is not None else segment.channel,
    )
