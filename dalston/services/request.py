"""One transcription request: what every dialect translates into.

Native, ElevenLabs and OpenAI, batch and realtime, each parse their own wire
format and build a :class:`TranscriptionRequest`; nothing below a dialect
sees a wire format. Every limit (speakers, vocabulary and keyterms, retention,
temperature, seed, granularity...) is declared here once, with ``Field``, and
the same declarations write the native form's OpenAPI schema
(:func:`form_schema`).

Decisions:

- **One rule, one error.** :meth:`TranscriptionRequest.build` turns pydantic's
  ``ValidationError`` into an ``InvalidRequest`` (400) whose ``param`` is the
  caller's own name for the field (a dialect passes its names: ElevenLabs'
  ``keyterms`` are our ``vocabulary``, OpenAI's are ``keywords``). Each dialect
  renders that error in its own shape: native and OpenAI ``{"error": {...}}``
  400s; ElevenLabs, whose API answers every malformed field with FastAPI's
  422 ``{"detail": [{loc, msg, type}]}``, asks for ``ValidationFailed`` and
  keeps that shape; realtime adapters send their protocol's error event and
  close code.
- **Vocabulary** (native ``vocabulary``, ElevenLabs ``keyterms``, OpenAI
  ``keywords``, realtime ``keyterms``/``vocabulary``): terms are stripped,
  empty ones dropped and repeats removed, then at most
  ``MAX_VOCABULARY_TERMS`` terms of at most ``MAX_TERM_CHARS`` characters are
  accepted. They become Whisper hotwords, part of a prompt of limited length,
  which is why the server's limit is lower than ElevenLabs' upstream 1000.
- **Retention** is ``-1`` (keep; stored as ``None``), ``0`` (delete once
  delivered) or ``1..MAX_RETENTION_DAYS`` days.
- **Language** is normalised here (lowercase ISO 639-1/-3, region dropped;
  ``auto`` or nothing means detect); which model serves it is
  ``dalston.services.policy``'s decision, not the request's.
- Frozen, and unknown fields are refused: a dialect that forgets to translate
  a field fails loudly in its tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from dalston.errors import InvalidRequest, ValidationFailed
from dalston.services.languages import to_whisper

MAX_SPEAKERS = 32
MAX_VOCABULARY_TERMS = 100
MAX_TERM_CHARS = 50
MAX_RETENTION_DAYS = 3650
MAX_SEED = 2**31 - 1

Granularity = Literal["none", "segment", "word", "character"]
SpeakerDetection = Literal["none", "diarize", "per_channel"]
Task = Literal["transcribe", "translate"]
Term = Annotated[str, StringConstraints(max_length=MAX_TERM_CHARS)]
_LANGUAGE = re.compile(r"[a-z]{2,3}([-_][a-z0-9]{2,8})?")
_WHOLE = re.compile(r"-?[0-9]{1,12}")
_SPEAKERS = f"1..{MAX_SPEAKERS}, with speaker_detection=diarize"


def _speakers(description: str) -> Any:
    return Field(default=None, ge=1, le=MAX_SPEAKERS, description=description)


class TranscriptionRequest(BaseModel):
    """A transcription as every dialect asks for it (batch jobs and streams)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    model: str = Field(default="auto", description="Model id, or auto")
    language: str | None = Field(
        default=None, description="ISO 639-1 code; auto or nothing: detect"
    )
    timestamps_granularity: Granularity = Field(
        default="word", description="none|segment|word|character"
    )
    vocabulary: tuple[Term, ...] = Field(
        default=(),
        max_length=MAX_VOCABULARY_TERMS,
        description=f"At most {MAX_VOCABULARY_TERMS} terms of at most "
        f"{MAX_TERM_CHARS} characters, used as Whisper hotwords",
    )
    display_name: str | None = Field(
        default=None, alias="name", max_length=255, description="Display name"
    )
    prompt: str | None = Field(default=None, description="Whisper's initial prompt")
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature, 0..2"
    )
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="0..2^31-1")
    task: Task = Field(default="transcribe", description="transcribe|translate")
    multichannel: bool = False
    speaker_detection: SpeakerDetection = Field(
        default="none", description="none|diarize|per_channel"
    )
    num_speakers: int | None = _speakers(_SPEAKERS)
    min_speakers: int | None = _speakers(_SPEAKERS)
    max_speakers: int | None = _speakers(_SPEAKERS)
    diarization_threshold: float | None = Field(
        default=None,
        ge=0.1,
        le=0.4,
        description="0.1..0.4 (diarize): lower finds more speakers",
    )
    word_alignment: bool | None = Field(
        default=None, description="Forced alignment of word times (default: on)"
    )
    pii_detection: bool = False
    pii_entity_types: tuple[str, ...] = Field(
        default=(), description="Entity types or categories (pii, pci, phi...)"
    )
    redact_pii_audio: bool = False
    pii_redaction_mode: str | None = Field(default=None, description="silence|beep")
    entity_redaction_mode: str | None = Field(
        default=None,
        description="redacted_text style: redacted|entity_type|enumerated_entity_type",
    )
    retention_days: int | None = Field(
        default=None,
        alias="retention",
        ge=-1,
        le=MAX_RETENTION_DAYS,
        description="-1: keep (default); 0: delete once the result is fetched; "
        f"1-{MAX_RETENTION_DAYS}: days after the job finishes",
    )

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        if value is None:
            return None
        code = str(value).strip().lower()
        if code in ("", "auto"):
            return None
        known = to_whisper(code) if _LANGUAGE.fullmatch(code) else None
        if known is None:
            raise ValueError(
                f"invalid language code {value!r}: not one of the languages this "
                "server transcribes; use ISO 639-1 like 'en', or 'auto'"
            )
        return known

    @field_validator("vocabulary", mode="before")
    @classmethod
    def _terms(cls, value: Any) -> Any:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            return value
        stripped = (str(term).strip() for term in value)
        return tuple(dict.fromkeys(term for term in stripped if term))

    @field_validator("temperature")
    @classmethod
    def _schedule(cls, value: float | None) -> float | None:
        """``0`` is Whisper's default decoding, in every dialect: start at 0 and
        raise the temperature when a window fails its log-probability or
        compression checks (OpenAI documents its 0 so; ElevenLabs' default is
        "usually 0"). Only a value above 0 fixes the sampling temperature."""
        return None if value == 0 else value

    @field_validator("speaker_detection", "timestamps_granularity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "num_speakers", "min_speakers", "max_speakers", "seed", "retention_days",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _whole(cls, value: Any) -> Any:
        """Form text must be a plain whole number (no ``1_0``, ``2e1``, ``1.5``)."""
        if isinstance(value, str) and not _WHOLE.fullmatch(value.strip()):
            raise ValueError(f"must be a whole number, not {value!r}")
        return value

    @field_validator("retention_days")
    @classmethod
    def _keep(cls, value: int | None) -> int | None:
        return None if value == -1 else value

    @model_validator(mode="after")
    def _speaker_counts(self) -> TranscriptionRequest:
        counts = ("num_speakers", "min_speakers", "max_speakers")
        if self.speaker_detection != "diarize":
            for name in (*counts, "diarization_threshold"):
                if getattr(self, name) is not None:
                    raise FieldError(name, "is only used with diarization")
        low, high = self.min_speakers, self.max_speakers
        if low is not None and high is not None and low > high:
            raise FieldError("min_speakers", "must not exceed max_speakers")
        return self

    @property
    def diarize(self) -> bool:
        return self.speaker_detection == "diarize"

    @classmethod
    def build(
        cls,
        names: Mapping[str, str] | None = None,
        *,
        error: type[InvalidRequest] | type[ValidationFailed] = InvalidRequest,
        **values: Any,
    ) -> TranscriptionRequest:
        """Validate ``values``; a refusal is an ``error`` (400, or ElevenLabs'
        422) naming the caller's field.

        ``names`` maps this model's field names to the dialect's own (a value
        of ``None`` is left out, so the model's default applies).
        """
        given = {k: v for k, v in values.items() if v is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise refusal(exc, names or {}, error) from None


class FieldError(ValueError):
    """A rule across fields, naming the field it refuses."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def refusal(
    exc: ValidationError,
    names: Mapping[str, str],
    error: type[InvalidRequest] | type[ValidationFailed] = InvalidRequest,
) -> InvalidRequest | ValidationFailed:
    """The first validation error as ``error`` in the caller's terms."""
    first = exc.errors(include_url=False)[0]
    cause = (first.get("ctx") or {}).get("error")
    loc = [str(part) for part in first.get("loc", ()) if isinstance(part, str)]
    if isinstance(cause, FieldError):
        loc = [cause.field]
    field = _FIELD_OF.get(loc[0], loc[0]) if loc else "model"
    param = names.get(field, _ALIASES.get(field, field))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    info = TranscriptionRequest.model_fields.get(field)
    hint = f" ({info.description})" if info is not None and info.description else ""
    return error(f"{param}: {message}{hint}.", param=param)


_ALIASES = {
    name: info.alias
    for name, info in TranscriptionRequest.model_fields.items()
    if info.alias
}
_FIELD_OF = {alias: name for name, alias in _ALIASES.items()}


def form_schema(
    fields: Iterable[str], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A multipart form's JSON schema: ``fields`` of the request model (by their
    wire names) plus ``extra`` properties (``file``, ``audio_url``...)."""
    full = TranscriptionRequest.model_json_schema(by_alias=True)
    wanted = [_ALIASES.get(name, name) for name in fields]
    properties = {name: full["properties"][name] for name in wanted}
    return {
        "title": "TranscriptionForm",
        "type": "object",
        "properties": {**(extra or {}), **properties},
    }
