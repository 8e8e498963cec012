"""Transcript exports: SubRip, WebVTT, plain text and JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from dalston.transcript.model import Segment, Transcript, Word


class ExportFormat(StrEnum):
    SRT = "srt"
    VTT = "vtt"
    TXT = "txt"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.SRT: "application/x-subrip",
            ExportFormat.VTT: "text/vtt",
            ExportFormat.TXT: "text/plain",
            ExportFormat.JSON: "application/json",
        }[self]


@dataclass(frozen=True)
class CueOptions:
    max_line_length: int = 42
    max_lines: int = 2
    include_speakers: bool = False


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None


def render(transcript: Transcript, fmt: ExportFormat, options: CueOptions) -> str:
    if fmt is ExportFormat.JSON:
        return transcript.model_dump_json(indent=2)
    if fmt is ExportFormat.TXT:
        return _text(transcript, options) + "\n"
    cues = list(_cues(transcript, options))
    if fmt is ExportFormat.SRT:
        return "\n".join(
            f"{i}\n{_ts(c.start, ',')} --> {_ts(c.end, ',')}\n{_cue_text(c, options)}\n"
            for i, c in enumerate(cues, start=1)
        )
    body = "\n".join(
        f"{_ts(c.start, '.')} --> {_ts(c.end, '.')}\n{_cue_text(c, options)}\n"
        for c in cues
    )
    return "WEBVTT\n\n" + body


def _text(transcript: Transcript, options: CueOptions) -> str:
    if not options.include_speakers:
        return transcript.text
    return "\n".join(
        f"{s.speaker}: {s.text}" if s.speaker else s.text for s in transcript.segments
    )


def _cue_text(cue: Cue, options: CueOptions) -> str:
    text = "\n".join(cue.lines)
    if options.include_speakers and cue.speaker:
        return f"[{cue.speaker}] {text}"
    return text


def _ts(seconds: float, sep: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _cues(transcript: Transcript, options: CueOptions) -> Iterator[Cue]:
    """Cues of at most ``max_lines`` lines of ``max_line_length`` characters.

    With word times, a long segment is split at word boundaries and each cue gets
    the times of its own words; without them, the segment is one cue.
    """
    for segment in transcript.segments:
        if not segment.text:
            continue
        if segment.words:
            yield from _split_words(segment, segment.words, options)
        else:
            lines = _wrap(segment.text.split(), options.max_line_length)
            yield Cue(segment.start, segment.end, tuple(lines), segment.speaker)


def _split_words(
    segment: Segment, words: list[Word], options: CueOptions
) -> Iterator[Cue]:
    budget = options.max_line_length * options.max_lines
    group: list[Word] = []
    length = 0
    for word in words:
        added = len(word.text) + (1 if group else 0)
        if group and length + added > budget:
            yield _cue(group, segment, options)
            group, length = [], 0
            added = len(word.text)
        group.append(word)
        length += added
    if group:
        yield _cue(group, segment, options)


def _cue(words: list[Word], segment: Segment, options: CueOptions) -> Cue:
    lines = _wrap([w.text for w in words], options.max_line_length)
    return Cue(words[0].start, words[-1].end, tuple(lines), segment.speaker)


def _wrap(tokens: list[str], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = f"{current} {token}" if current else token
        if current and len(candidate) > width:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines
