"""Transcript exports: SubRip, WebVTT, plain text and JSON.

The one cue renderer: every dialect's subtitles (native export, OpenAI
``response_format`` srt/vtt, ElevenLabs ``additional_formats``) are cut by
``cues`` under one set of rules (see ``cues``); a dialect only maps its own
options onto ``CueOptions`` and lays the cues out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from enum import StrEnum

from dalston.transcript.model import Segment, Transcript
from dalston.transcript.text import separators


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


# Subtitle rules (every dialect's SRT/VTT comes from here).
MIN_CUE_S = 0.5  # no cue is on screen for less
PAUSE_S = 1.0  # a silence this long between words ends a cue
_SENTENCE_END = (".", "?", "!", "\u2026", "\u3002", "\uff1f", "\uff01")
_CLAUSE_END = (",", ";", ":", "\u2014", "\u2013", "\u3001", "\uff0c")


@dataclass(frozen=True)
class CueOptions:
    """How cues are cut. The last three serve dialects with their own knobs
    (ElevenLabs' ``segment_on_silence_longer_than_s``, ``max_segment_duration_s``,
    ``max_segment_chars``); ``pause_s=None`` cuts at no silence."""

    max_line_length: int = 42
    max_lines: int = 2
    include_speakers: bool = False
    pause_s: float | None = PAUSE_S
    max_cue_s: float | None = None
    max_cue_chars: int | None = None


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None
    # Indices into ``Transcript.words`` of the words shown (none without times).
    words: tuple[int, ...] = ()
    # What joins its lines back into text: "" where the language writes no spaces.
    joiner: str = " "

    @property
    def text(self) -> str:
        return self.joiner.join(self.lines)


def render(transcript: Transcript, fmt: ExportFormat, options: CueOptions) -> str:
    if fmt is ExportFormat.JSON:
        return transcript.model_dump_json(indent=2)
    if fmt is ExportFormat.TXT:
        return _text(transcript, options) + "\n"
    return subtitles(cues(transcript, options), fmt, options)


def subtitles(cue_list: list[Cue], fmt: ExportFormat, options: CueOptions) -> str:
    """Cues as SubRip (``fmt`` SRT) or WebVTT (VTT)."""
    if fmt is ExportFormat.SRT:
        return "\n".join(
            f"{i}\n{timestamp(c.start, ',')} --> {timestamp(c.end, ',')}\n"
            f"{_cue_text(c, options, fmt)}\n"
            for i, c in enumerate(cue_list, start=1)
        )
    body = "\n".join(
        f"{timestamp(c.start, '.')} --> {timestamp(c.end, '.')}\n"
        f"{_cue_text(c, options, fmt)}\n"
        for c in cue_list
    )
    return "WEBVTT\n\n" + body


def speaker_names(transcript: Transcript) -> dict[str, str]:
    """Speaker id -> the name given to it (``speakers[].label``), where one was."""
    return {s.id: s.label for s in transcript.speakers if s.label}


def _text(transcript: Transcript, options: CueOptions) -> str:
    if not options.include_speakers:
        return transcript.text
    names = speaker_names(transcript)
    return "\n".join(
        f"{names.get(s.speaker, s.speaker)}: {s.text}" if s.speaker else s.text
        for s in transcript.segments
    )


def _cue_text(cue: Cue, options: CueOptions, fmt: ExportFormat) -> str:
    """SubRip: ``[Name] text``. WebVTT: a voice span, ``<v Name>text``, which
    players show and style per speaker; its text escapes ``& < >`` as the format
    requires."""
    text = "\n".join(cue.lines)
    speaker = cue.speaker if options.include_speakers else None
    if fmt is ExportFormat.SRT:
        return f"[{speaker}] {text}" if speaker else text
    text = html.escape(text, quote=False)
    if speaker:
        # A voice's annotation ends at ">" and may not hold "&" or "<" unescaped.
        return f"<v {html.escape(speaker, quote=False)}>{text}"
    return text


def timestamp(seconds: float, sep: str) -> str:
    """``HH:MM:SS<sep>mmm``: SubRip's with ``","``, WebVTT's with ``"."``."""
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


@dataclass(frozen=True)
class _Unit:
    """A word (or, without word times, a token) and the separator before it."""

    text: str
    sep: str
    start: float
    end: float
    index: int | None = None  # in ``Transcript.words``


def cues(transcript: Transcript, options: CueOptions) -> list[Cue]:
    """Cues of at most ``max_lines`` lines of at most ``max_line_length``
    characters (a single longer word is the only exception), words joined as the
    language writes them, cut preferably at sentence ends, then clause
    punctuation, then pauses; none shorter than ``MIN_CUE_S`` where the audio
    and the lines rule allow.

    With word times each cue has the times of its own words; without them a
    segment's text is cut the same way and times are spread by character. A cue's
    speaker is the name given to it where there is one, else its id.
    """
    found: list[Cue] = []
    offsets, done = [], 0
    for segment in transcript.segments:
        offsets.append(done)
        done += len(segment.words or ())
    order = sorted(
        range(len(transcript.segments)), key=lambda i: transcript.segments[i].start
    )
    names = speaker_names(transcript)  # a renamed speaker shows by its name
    for i in order:
        segment = transcript.segments[i]
        units = _units(segment, options.max_line_length, offsets[i])
        if units:
            speaker = names.get(segment.speaker or "", segment.speaker)
            found.extend(_group(units, speaker, options))
    # A cue grows to MIN_CUE_S into silence, never past the audio's end.
    end = transcript.duration if transcript.duration > 0 else float("inf")
    return _lengthen(found, options, end)


def _units(segment: Segment, width: int, first: int) -> list[_Unit]:
    words = [
        (first + i, w) for i, w in enumerate(segment.words or ()) if w.text.strip()
    ]
    if words:
        texts = [w.text.strip() for _, w in words]
        seps = separators(texts, segment.text)
        return [
            _Unit(t, s, w.start, w.end, i)
            for t, s, (i, w) in zip(texts, seps, words, strict=True)
        ]
    text = segment.text.strip()
    if not text:
        return []
    if " " in text or len(text) <= width:
        tokens, seps = text.split(), [""] + [" "] * (len(text.split()) - 1)
    else:  # written without spaces: any character may start a line
        tokens, seps = list(text), [""] * len(text)
    total = sum(len(t) for t in tokens) or 1
    span = max(segment.end - segment.start, 0.0)
    units, done = [], 0
    for token, sep in zip(tokens, seps, strict=True):
        start = segment.start + span * done / total
        done += len(token)
        units.append(_Unit(token, sep, start, segment.start + span * done / total))
    return units


def _group(units: list[_Unit], speaker: str | None, options: CueOptions) -> list[Cue]:
    cues: list[Cue] = []
    group: list[_Unit] = []
    spaced = any(u.sep for u in units[1:])
    for unit in units:
        pause = options.pause_s
        if (
            group
            and pause is not None
            and unit.start - group[-1].end >= pause
            and (unit.sep or not spaced)  # never inside a written word
        ):
            cues.append(_make_cue(group, speaker, options, spaced))
            group = []
        while group and not _fits([*group, unit], options, spaced):
            cut = _best_break([*group, unit], spaced)
            cues.append(_make_cue(group[:cut], speaker, options, spaced))
            group = group[cut:]
        group.append(unit)
    if group:
        cues.append(_make_cue(group, speaker, options, spaced))
    return cues


def _best_break(units: list[_Unit], spaced: bool) -> int:
    """How many units a full cue keeps of ``units`` (the last is the one that
    did not fit): after the last sentence end in its second half or so, else
    the last clause mark or pause in its second half, else as many as fit.
    A cue never ends inside a written word ("self" | "-substantial", "m'" |
    "appelle") where the text has spaces elsewhere, unless nothing else can."""
    n = len(units) - 1
    allowed = [not spaced or bool(u.sep) for u in units]
    for ends, share in ((_SENTENCE_END, 0.4), (_CLAUSE_END, 0.5)):
        for cut in range(n, max(int(n * share), 1) - 1, -1):
            if allowed[cut] and units[cut - 1].text.endswith(ends):
                return cut
    for cut in range(n, max(n // 2, 1) - 1, -1):
        if allowed[cut] and units[cut].start - units[cut - 1].end >= 0.3:
            return cut
    return next((cut for cut in range(n, 0, -1) if allowed[cut]), n)


def _fits(units: list[_Unit], options: CueOptions, spaced: bool) -> bool:
    if options.max_cue_s is not None and (
        units[-1].end - units[0].start > options.max_cue_s
    ):
        return False
    if options.max_cue_chars is not None and (
        len("".join(u.sep + u.text for u in units)) > options.max_cue_chars
    ):
        return False
    lines = _lines(units, options.max_line_length, spaced)
    return len(lines) <= options.max_lines


def _make_cue(
    units: list[_Unit], speaker: str | None, options: CueOptions, spaced: bool
) -> Cue:
    lines = _lines(units, options.max_line_length, spaced)
    indices = tuple(u.index for u in units if u.index is not None)
    joiner = " " if spaced else ""
    return Cue(units[0].start, units[-1].end, tuple(lines), speaker, indices, joiner)


def _lines(units: list[_Unit], width: int, spaced: bool) -> list[str]:
    """Greedy lines; a line may break only where the text has a space, or
    anywhere in a language written without spaces (``spaced`` false: the
    segment's text has no spaces between its words)."""
    tokens: list[str] = []
    for index, unit in enumerate(units):
        if index and (unit.sep or not spaced):
            tokens.append(unit.text)
        elif tokens:
            tokens[-1] += unit.text
        else:
            tokens.append(unit.text)
    return _wrap(tokens, width, " " if spaced else "")


def _wrap(tokens: list[str], width: int, joiner: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = f"{current}{joiner}{token}" if current else token
        if current and len(candidate) > width:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _lengthen(
    found: list[Cue], options: CueOptions, audio_end: float = float("inf")
) -> list[Cue]:
    """No cue shorter than ``MIN_CUE_S``: grow into the silence around it (not
    past ``audio_end``), then borrow what the neighbours can spare; only when
    they cannot, join it to a neighbour (one of the same speaker first) whose
    text fits beside it in ``max_lines``. When no neighbour's does, or the audio
    is shorter than ``MIN_CUE_S``, the cue stays as long as it could be made."""
    out = list(found)
    i = 0
    while i < len(out):
        cue = out[i]
        if cue.end - cue.start >= MIN_CUE_S - 1e-9:
            i += 1
            continue
        prev_end = out[i - 1].end if i else 0.0
        next_start = out[i + 1].start if i + 1 < len(out) else audio_end
        end = min(max(cue.end, cue.start + MIN_CUE_S), max(next_start, cue.end))
        start = max(min(cue.start, end - MIN_CUE_S), min(prev_end, cue.start))
        need = MIN_CUE_S - (end - start)
        if need > 1e-9 and i + 1 < len(out):
            nxt = out[i + 1]
            take = min(need, max(nxt.end - nxt.start - MIN_CUE_S, 0.0))
            if take > 0:
                end += take
                out[i + 1] = replace(nxt, start=end)
                need -= take
        if need > 1e-9 and i:
            prv = out[i - 1]
            take = min(need, max(prv.end - prv.start - MIN_CUE_S, 0.0))
            if take > 0:
                start -= take
                out[i - 1] = replace(prv, end=start)
                need -= take
        out[i] = replace(cue, start=start, end=end)
        if need > 1e-9:
            joined = _join(out, i, options)
            if joined is not None:
                i = max(joined - 1, 0)
                continue
        i += 1
    return out


def _join(out: list[Cue], i: int, options: CueOptions) -> int | None:
    """Join cue ``i`` to a neighbour in place; the joined cue's index, or None
    when no neighbour's text fits beside it."""
    neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(out)]
    neighbours.sort(key=lambda j: out[j].speaker != out[i].speaker)
    for j in neighbours:
        first, second = out[min(i, j)], out[max(i, j)]
        joiner = first.joiner
        if joiner:
            tokens = f"{first.text} {second.text}".split(" ")
        else:
            tokens = list(first.text + second.text)
        lines = _wrap(tokens, options.max_line_length, joiner)
        if len(lines) > options.max_lines:
            continue
        out[min(i, j)] = Cue(
            first.start,
            second.end,
            tuple(lines),
            first.speaker,
            first.words + second.words,
            joiner,
        )
        del out[max(i, j)]
        return min(i, j)
    return None
