"""Render ``additional_formats`` items: AdditionalFormatResponseModel dicts.

Text formats (srt, txt, segmented_json, html) are built here; docx and pdf in
``documents`` and sent base64-encoded (``is_base64_encoded: true``). ElevenLabs
publishes no schema for ``segmented_json`` (spec F): this server sends
``{"segments": [{"text", "start_time", "end_time", "speaker", "words": [...]}]}``.
"""

from __future__ import annotations

import base64
import html
import json
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from dalston.dialects.elevenlabs import documents
from dalston.dialects.elevenlabs.export_options import ExportSpec
from dalston.dialects.elevenlabs.segments import Block, split_blocks
from dalston.dialects.elevenlabs.tokens import Token
from dalston.transcript import Segment, Transcript, TranscriptMetadata, Word
from dalston.transcript.export import CueOptions, ExportFormat
from dalston.transcript.export import render as render_subtitles

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


def render_formats(
    specs: Sequence[ExportSpec], units: Sequence[Sequence[Token]], language: str
) -> list[dict[str, Any]] | None:
    if not specs:
        return None
    return [render(spec, units, language) for spec in specs]


def render(
    spec: ExportSpec, units: Sequence[Sequence[Token]], language: str
) -> dict[str, Any]:
    blocks = split_blocks(
        units,
        silence_s=spec.segment_on_silence_longer_than_s,
        max_duration_s=spec.max_segment_duration_s,
        max_chars=spec.max_segment_chars,
    )
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


def clock(seconds: float, sep: str = ".") -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _wrap(text: str, width: int | None) -> list[str]:
    if not width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=False) or [""]


def _prefix(block: Block, spec: ExportSpec) -> str:
    parts = []
    if spec.include_timestamps:
        parts.append(f"[{clock(block.start)} --> {clock(block.end)}]")
    if spec.include_speakers and block.speaker:
        parts.append(f"{block.speaker}:")
    return " ".join(parts)


def _plain_line(block: Block, spec: ExportSpec) -> documents.Line:
    return documents.Line(prefix=_prefix(block, spec), text=block.text)


def _srt(blocks: list[Block], spec: ExportSpec, language: str) -> str:
    """SubRip through the renderer every dialect shares (its subtitle rules:
    lines, cue length, punctuation breaks): each block (cut by this request's
    silence, duration and character options) is a segment; without
    ``max_characters_per_line`` a cue is one unwrapped line."""
    width = spec.max_characters_per_line
    options = CueOptions(
        max_line_length=width or _UNWRAPPED,
        max_lines=2 if width else 1,
        include_speakers=spec.include_speakers,
    )
    return render_subtitles(_as_transcript(blocks, language), ExportFormat.SRT, options)


_UNWRAPPED = 1_000_000


def _as_transcript(blocks: list[Block], language: str) -> Transcript:
    segments = [
        Segment(
            id=index,
            start=block.start,
            end=block.end,
            text=block.text,
            speaker=block.speaker,
            words=[Word(text=t.text, start=t.start, end=t.end) for t in block.tokens],
        )
        for index, block in enumerate(blocks)
    ]
    return Transcript(
        text=" ".join(b.text for b in blocks),
        language_code=language,
        language_probability=None,
        duration=max((b.end for b in blocks), default=0.0),
        segments=segments,
        metadata=TranscriptMetadata(model=""),
    )


def _txt(blocks: list[Block], spec: ExportSpec, language: str) -> str:
    out = []
    for block in blocks:
        prefix = _prefix(block, spec)
        line = f"{prefix} {block.text}" if prefix else block.text
        out.extend(_wrap(line, spec.max_characters_per_line))
    return "\n".join(out) + "\n"


def _segmented_json(blocks: list[Block], spec: ExportSpec, language: str) -> str:
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


def _html(blocks: list[Block], spec: ExportSpec, language: str) -> str:
    paragraphs = []
    for block in blocks:
        parts = []
        if spec.include_timestamps:
            stamp = f"[{clock(block.start)} --> {clock(block.end)}]"
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


_TEXT: dict[str, Callable[[list[Block], ExportSpec, str], str]] = {
    "srt": _srt,
    "txt": _txt,
    "segmented_json": _segmented_json,
    "html": _html,
}
