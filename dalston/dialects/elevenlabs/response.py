"""A stored Transcript as ElevenLabs' response models (spec A.4).

- ``SpeechToTextChunkResponseModel``: ``language_code`` (ISO 639-3),
  ``language_probability``, ``text`` and ``words`` are always present (the JS SDK
  rejects a body without them); every word has ``text``, ``type`` and
  ``logprob`` (ln of the word probability, <= 0). An explicit ``spacing`` item
  (``" "``, logprob 0) sits between consecutive words.
- ``timestamps_granularity=character`` adds ``characters`` to each word: the
  word's time is shared evenly among its characters (Whisper times words, not
  characters).
- ``MultichannelSpeechToTextResponseModel`` for ``use_multi_channel`` with the
  ``separate`` style: one chunk per channel with ``channel_index``; the
  ``combined`` style is one chunk whose words from all channels are sorted by
  start time, each with its ``channel_index``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from dalston.dialects.elevenlabs.export_options import ExportSpec
from dalston.dialects.elevenlabs.formats import render_formats
from dalston.dialects.elevenlabs.tokens import Token, segment_tokens, strip_audio_events
from dalston.pii import entity_labels, redact_text
from dalston.services.languages import to_iso3
from dalston.transcript.model import Entity, Segment, Transcript

_EPS = 0.02  # seconds: word and entity times are rounded to milliseconds


@dataclass(frozen=True)
class ResponseOptions:
    """How a transcript is shown; kept beside the job so GET shows it the same."""

    timestamps_granularity: str = "word"  # none | word | character
    tag_audio_events: bool = True
    use_multi_channel: bool = False
    multichannel_output_style: str = "separate"  # separate | combined
    entities: bool = False  # entity_detection was asked for
    redact_types: tuple[str, ...] = ()  # entity_redaction: masked in text and words
    redaction_mode: str = "redacted"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ResponseOptions:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "redact_types" in known:
            known["redact_types"] = tuple(known["redact_types"])
        return cls(**known)


@dataclass(frozen=True)
class _Source:
    units: list[list[Token]]
    text: str
    language: str | None
    language_probability: float | None
    channel_index: int | None


def build_response(
    transcript: Transcript,
    options: ResponseOptions,
    *,
    transcription_id: str,
    audio_duration_s: float | None,
    formats: Sequence[ExportSpec] = (),
) -> dict[str, Any]:
    duration = round(
        audio_duration_s if audio_duration_s is not None else transcript.duration, 3
    )
    common = {"transcription_id": transcription_id, "audio_duration_secs": duration}
    if options.use_multi_channel and options.multichannel_output_style == "separate":
        chunks = [
            _chunk(source, options, formats) | common
            for source in _per_channel(transcript, options)
        ]
        return {"transcripts": chunks, **common}
    if options.use_multi_channel:
        source = _combined(transcript, options)
        return _chunk(source, options, formats) | common
    redacted = [
        e for e in transcript.entities or [] if e.entity_type in options.redact_types
    ]
    units = _units(transcript.segments, options)
    text = transcript.text
    if redacted:
        text = redact_text(
            text, [e.model_dump() for e in redacted], options.redaction_mode
        )
        units = [
            _mask_tokens(u, redacted, options.redaction_mode, transcript.text)
            for u in units
        ]
    source = _Source(
        units=units,
        text=_text(text, options),
        language=transcript.language_code,
        language_probability=transcript.language_probability,
        channel_index=None,
    )
    chunk = _chunk(source, options, formats) | common
    if options.entities and not options.redact_types:
        chunk["entities"] = [
            {
                "text": e.text,
                "entity_type": e.entity_type,
                "start_char": e.start_char,
                "end_char": e.end_char,
            }
            for e in transcript.entities or []
        ]
    return chunk


def _mask_tokens(
    tokens: list[Token], entities: Sequence[Entity], mode: str, transcript_text: str
) -> list[Token]:
    """Tokens said inside a redacted entity's time span become one placeholder."""
    labels = entity_labels(transcript_text, [e.model_dump() for e in entities], mode)
    out: list[Token] = []
    covering: Entity | None = None
    for token in tokens:
        entity = next(
            (
                e
                for e in entities
                if e.start is not None
                and e.end is not None
                and token.start >= e.start - _EPS
                and token.end <= e.end + _EPS
            ),
            None,
        )
        if entity is None:
            out.append(token)
        elif entity is covering and out:
            out[-1] = replace(out[-1], end=token.end)
        else:
            label = labels[entities.index(entity)]
            out.append(replace(token, text=f"{{{label}}}", kind="word"))
        covering = entity
    return out


def _units(segments: Sequence[Segment], options: ResponseOptions) -> list[list[Token]]:
    units = [
        segment_tokens(s, tag_audio_events=options.tag_audio_events) for s in segments
    ]
    return [u for u in units if u]


def _text(text: str, options: ResponseOptions) -> str:
    return text if options.tag_audio_events else strip_audio_events(text)


def _per_channel(transcript: Transcript, options: ResponseOptions) -> list[_Source]:
    summaries = transcript.channel_transcripts
    if not summaries:  # mono audio: one channel, index 0
        segments = [s.model_copy(update={"channel": 0}) for s in transcript.segments]
        return [
            _Source(
                units=_units(segments, options),
                text=_text(transcript.text, options),
                language=transcript.language_code,
                language_probability=transcript.language_probability,
                channel_index=0,
            )
        ]
    return [
        _Source(
            units=_units(
                [s for s in transcript.segments if (s.channel or 0) == c.channel_index],
                options,
            ),
            text=_text(c.text, options),
            language=c.language_code,
            language_probability=c.language_probability,
            channel_index=c.channel_index,
        )
        for c in summaries
    ]


def _combined(transcript: Transcript, options: ResponseOptions) -> _Source:
    segments = [
        s if s.channel is not None else s.model_copy(update={"channel": 0})
        for s in sorted(transcript.segments, key=lambda s: (s.start, s.channel or 0))
    ]
    units = _units(segments, options)
    ordered = sorted((t for u in units for t in u), key=lambda t: (t.start, t.end))
    return _Source(
        units=units,
        text=" ".join(t.text for t in ordered),
        language=transcript.language_code,
        language_probability=transcript.language_probability,
        channel_index=None,
    )


def _chunk(
    source: _Source, options: ResponseOptions, formats: Sequence[ExportSpec]
) -> dict[str, Any]:
    tokens = [t for u in source.units for t in u]
    if options.use_multi_channel:
        tokens.sort(key=lambda t: (t.start, t.end))
    language = source.language or "en"
    return {
        "language_code": to_iso3(source.language) or "und",
        "language_probability": round(source.language_probability or 0.0, 4),
        "text": source.text,
        "words": _words(tokens, options),
        "channel_index": source.channel_index,
        "additional_formats": render_formats(formats, source.units, language),
    }


def _words(tokens: list[Token], options: ResponseOptions) -> list[dict[str, Any]]:
    characters = options.timestamps_granularity == "character"
    words: list[dict[str, Any]] = []
    previous: Token | None = None
    for token in tokens:
        if previous is not None:
            words.append(_spacing(previous, token, characters, options))
        words.append(_word(token, characters, options))
        previous = token
    return words


def _word(token: Token, characters: bool, options: ResponseOptions) -> dict[str, Any]:
    start, end = (token.start, token.end) if token.timed else (None, None)
    word: dict[str, Any] = {
        "text": token.text,
        "start": None if start is None else round(start, 3),
        "end": None if end is None else round(end, 3),
        "type": token.kind,
        "speaker_id": speaker_id(token.speaker),
        "logprob": round(token.logprob, 4),
    }
    if characters:
        word["characters"] = _characters(token.text, token.start, token.end)
    if options.use_multi_channel:
        word["channel_index"] = token.channel
    return word


def _spacing(
    previous: Token, token: Token, characters: bool, options: ResponseOptions
) -> dict[str, Any]:
    # Channels overlap in the combined style: never let a spacing start late.
    start = min(previous.end, token.start)
    end = token.start
    timed = previous.timed and token.timed
    spacing: dict[str, Any] = {
        "text": " ",
        "start": round(start, 3) if timed else None,
        "end": round(end, 3) if timed else None,
        "type": "spacing",
        "speaker_id": speaker_id(token.speaker),
        "logprob": 0.0,
    }
    if characters:
        spacing["characters"] = _characters(" ", start, end)
    if options.use_multi_channel:
        spacing["channel_index"] = token.channel
    return spacing


def speaker_id(speaker: str | None) -> str | None:
    """Dalston's ``SPEAKER_03`` as ElevenLabs' ``speaker_3``."""
    if speaker is None:
        return None
    prefix, _, number = speaker.rpartition("_")
    if prefix.upper() == "SPEAKER" and number.isdigit():
        return f"speaker_{int(number)}"
    return speaker


def _characters(text: str, start: float, end: float) -> list[dict[str, Any]]:
    """The word's span shared evenly among its characters."""
    step = max(end - start, 0.0) / max(len(text), 1)
    return [
        {
            "text": char,
            "start": round(start + i * step, 3),
            "end": round(start + (i + 1) * step, 3),
        }
        for i, char in enumerate(text)
    ]
