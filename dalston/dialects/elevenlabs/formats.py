"""Render ``additional_formats`` items: AdditionalFormatResponseModel dicts.

Every format is cut into cues by the one renderer (``dalston.transcript.export``)
with ElevenLabs' ExportOptions mapped onto ``CueOptions``: ``max_characters_per_line``
is the line length, ``segment_on_silence_longer_than_s`` the pause that cuts,
``max_segment_duration_s`` and ``max_segment_chars`` a cue's limits, and a cue
holds as many lines as ``max_segment_chars`` fills (unbounded without it). A
change of speaker or channel always starts a cue. Text formats (srt, txt,
segmented_json, html) are built here; docx and pdf in ``documents`` and sent
base64-encoded (``is_base64_encoded: true``). ElevenLabs publishes no schema for
``segmented_json`` (spec F): this server sends ``{"segments": [{"text",
"start_time", "end_time", "speaker", "words": [...]}]}``.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dalston.dialects.elevenlabs import documents
from dalston.dialects.elevenlabs.export_options import ExportSpec
from dalston.dialects.elevenlabs.tokens import Token
from dalston.transcript.export import (
    Cue,
    CueOptions,
    ExportFormat,
    cues,
    subtitles,
    timestamp,
)
from dalston.transcript.model import Segment, Transcript, TranscriptMetadata, Word

_UNBOUNDED = 1_000_000  # characters per line, or lines per cue

_TYPES = {
    "srt": ("srt", "application/x-subrip"),
    "txt": ("txt", "text/plain"),
    "segmented_json": ("json", "application/json"),
    "html": ("html", "text/html"),
    "docx": (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "pdf": ("pdf", "application/pdf"),
}


@dataclass(frozen=True)
class _Block:
    """A cue and the tokens it shows."""

    cue: Cue
    tokens: tuple[Token, ...]

    @property
    def start(self) -> float:
        return self.cue.start

    @property
    def end(self) -> float:
        return self.cue.end

    @property
    def speaker(self) -> str | None:
        return self.cue.speaker

    @property
    def text(self) -> str:
        return self.cue.text


def render_formats(
    specs: Sequence[ExportSpec], units: Sequence[Sequence[Token]], language: str
) -> list[dict[str, Any]] | None:
    if not specs:
        return None
    return [render(spec, units, language) for spec in specs]


def render(
    spec: ExportSpec, units: Sequence[Sequence[Token]], language: str
) -> dict[str, Any]:
    blocks = _blocks(units, spec)
    extension, content_type = _TYPES[spec.format]
    binary = spec.format in ("docx", "pdf")
    if binary:
        lines = [_plain_line(b, spec) for b in blocks]
        maker = documents.docx if spec.format == "docx" else documents.pdf
        content = base64.b64encode(maker(lines)).decode("ascii")
    else:
        content = _TEXT[spec.format](blocks, spec, language)
    return {
        "requested_format": spec.format,
        "file_extension": extension,
        "content_type": content_type,
        "is_base64_encoded": binary,
        "content": content,
    }


def cue_options(spec: ExportSpec) -> CueOptions:
    """ElevenLabs' ExportOptions as the one renderer's options."""
    width = spec.max_characters_per_line or _UNBOUNDED
    lines = _UNBOUNDED
    if spec.max_segment_chars is not None and spec.max_characters_per_line:
        lines = max(1, math.ceil(spec.max_segment_chars / width))
    return CueOptions(
        max_line_length=width,
        max_lines=lines,
        include_speakers=spec.include_speakers,
        pause_s=spec.segment_on_silence_longer_than_s,
        max_cue_s=spec.max_segment_duration_s,
        max_cue_chars=spec.max_segment_chars,
    )


def _blocks(units: Sequence[Sequence[Token]], spec: ExportSpec) -> list[_Block]:
    """Each unit (a Whisper segment's tokens) split where the speaker or channel
    changes, as a transcript segment whose words are the tokens, spaced as the
    tokens say; then cut into cues."""
    tokens: list[Token] = []
    segments: list[Segment] = []
    for unit in units:
        for _, run in itertools.groupby(unit, key=lambda t: (t.speaker, t.channel)):
            part = list(run)
            segments.append(
                Segment(
                    id=len(segments),
                    start=part[0].start,
                    end=part[-1].end,
                    text="".join(
                        (t.sep if i else "") + t.text for i, t in enumerate(part)
                    ),
                    speaker=_speaker(part[0]),
                    words=[Word(text=t.text, start=t.start, end=t.end) for t in part],
                )
            )
            tokens.extend(part)
    transcript = Transcript(
        text="",
        language_code=None,
        language_probability=None,
        duration=max((s.end for s in segments), default=0.0),
        segments=segments,
        metadata=TranscriptMetadata(model=""),
    )
    return [
        _Block(cue, tuple(tokens[i] for i in cue.words))
        for cue in cues(transcript, cue_options(spec))
    ]


def _speaker(token: Token) -> str | None:
    """Who speaks: the speaker id, else the channel it came from."""
    if token.speaker:
        return token.speaker
    return None if token.channel is None else f"channel_{token.channel}"


def _clock(seconds: float) -> str:
    return timestamp(seconds, ".")


def _prefix(block: _Block, spec: ExportSpec) -> str:
    parts = []
    if spec.include_timestamps:
        parts.append(f"[{_clock(block.start)} --> {_clock(block.end)}]")
    if spec.include_speakers and block.speaker:
        parts.append(f"{block.speaker}:")
    return " ".join(parts)


def _plain_line(block: _Block, spec: ExportSpec) -> documents.Line:
    return documents.Line(prefix=_prefix(block, spec), text=block.text)


def _srt(blocks: list[_Block], spec: ExportSpec, language: str) -> str:
    return subtitles([b.cue for b in blocks], ExportFormat.SRT, cue_options(spec))


def _txt(blocks: list[_Block], spec: ExportSpec, language: str) -> str:
    out = []
    for block in blocks:
        prefix = _prefix(block, spec)
        first, *rest = block.cue.lines
        out.extend([f"{prefix} {first}" if prefix else first, *rest])
    return "\n".join(out) + "\n"


def _segmented_json(blocks: list[_Block], spec: ExportSpec, language: str) -> str:
    segments = []
    for block in blocks:
        segment: dict[str, Any] = {"text": block.text}
        if spec.include_timestamps:
            segment["start_time"] = round(block.start, 3)
            segment["end_time"] = round(block.end, 3)
        if spec.include_speakers:
            segment["speaker"] = block.speaker
        segment["words"] = [_json_word(t, spec) for t in block.tokens]
        segments.append(segment)
    return json.dumps({"segments": segments}, ensure_ascii=False)


def _json_word(token: Token, spec: ExportSpec) -> dict[str, Any]:
    word: dict[str, Any] = {"text": token.text, "type": token.kind}
    if spec.include_timestamps:
        word["start_time"] = round(token.start, 3)
        word["end_time"] = round(token.end, 3)
    if spec.include_speakers:
        word["speaker"] = token.speaker
    word["logprob"] = round(token.logprob, 4)
    return word


def _html(blocks: list[_Block], spec: ExportSpec, language: str) -> str:
    paragraphs = []
    for block in blocks:
        parts = []
        if spec.include_timestamps:
            stamp = f"[{_clock(block.start)} --> {_clock(block.end)}]"
            parts.append(f'<span class="timestamp">{stamp}</span>')
        if spec.include_speakers and block.speaker:
            speaker = html.escape(block.speaker)
            parts.append(f'<span class="speaker">{speaker}:</span>')
        parts.append(f'<span class="text">{html.escape(block.text)}</span>')
        paragraphs.append(f'<p class="segment">{" ".join(parts)}</p>')
    body = "\n".join(paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n<head>\n'
        '<meta charset="utf-8">\n<title>Transcript</title>\n</head>\n<body>\n'
        f"{body}\n</body>\n</html>\n"
    )


_TEXT: dict[str, Callable[[list[_Block], ExportSpec, str], str]] = {
    "srt": _srt,
    "txt": _txt,
    "segmented_json": _segmented_json,
    "html": _html,
}
