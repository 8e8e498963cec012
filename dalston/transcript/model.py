"""The stored transcript (``jobs/{id}/transcript.json``), served by the native API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Word(BaseModel):
    text: str
    start: float
    end: float
    confidence: float | None = None
    speaker: str | None = None
    channel: int | None = None


class Segment(BaseModel):
    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    temperature: float | None = None
    tokens: list[int] | None = None
    seek: int | None = None
    channel: int | None = None
    # Set where the recording switches language: the language this segment is in.
    language: str | None = None
    words: list[Word] | None = None


class Speaker(BaseModel):
    id: str
    label: str | None = None
    channel: int | None = None
    # Seconds this speaker talks (diarization turns, or its channel's segments).
    talk_time: float | None = None


class ChannelSummary(BaseModel):
    channel_index: int
    text: str
    language_code: str | None
    language_probability: float | None


class Entity(BaseModel):
    """A span of personal data found in ``Transcript.text``."""

    text: str
    entity_type: str
    start_char: int
    end_char: int
    start: float | None = None  # audio seconds of the words it covers
    end: float | None = None
    confidence: float | None = None


class PiiSummary(BaseModel):
    entity_types: list[str]  # the types that were looked for
    entity_count: int
    redacted_audio: bool = False
    redaction_mode: str | None = None  # silence | beep, when audio was redacted


class TranscriptMetadata(BaseModel):
    model: str
    stages: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    decode_mode: str | None = None
    # Where word times come from: "whisper" (cross-attention) or a forced aligner.
    word_timing: str | None = None
    diarization: str | None = None  # the diarization backend, when it ran


class Transcript(BaseModel):
    text: str
    language_code: str | None
    language_probability: float | None
    duration: float
    channels: int = 1
    speakers: list[Speaker] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    # One entry per channel when channels were transcribed apart.
    channel_transcripts: list[ChannelSummary] | None = None
    # PII stage: entities with offsets into ``text``, and ``text`` with them masked.
    entities: list[Entity] | None = None
    redacted_text: str | None = None
    pii: PiiSummary | None = None
    metadata: TranscriptMetadata

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in (s.words or [])]
