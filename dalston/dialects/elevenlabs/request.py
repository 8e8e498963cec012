"""Parse and check a ``POST /v1/speech-to-text`` form (spec A.2, A.5).

Every field the SDKs send is either honoured or refused with a clear error:

- malformed values: 422 ``{"detail": [{loc, msg, type}]}`` (``ValidationFailed``);
- features this server lacks (speaker roles and library, verbatim cleanup,
  transcript editing, number formatting, secondary languages): 400
  ``{"detail": {"status": "unsupported_feature", "message"}}`` naming every
  such field at once. Literal ``null`` values and the defaults
  (``detect_speaker_roles=false``...) are accepted.
- unknown fields with a value: 422. (An unknown field sent as literal ``null`` is
  accepted: newer SDKs send ``null`` for every unset JSON field.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from dalston.config import Settings
from dalston.dialects.elevenlabs.export_options import (
    ExportSpec,
    parse_additional_formats,
)
from dalston.dialects.elevenlabs.response import ResponseOptions
from dalston.errors import InvalidRequest, ValidationFailed
from dalston.pii import REDACTION_MODES, resolve_entity_types
from dalston.services.languages import to_whisper
from dalston.services.request import TranscriptionRequest

if TYPE_CHECKING:  # gateway imports the routes, which import this module
    from dalston.gateway.forms import FormFields

# Keyterm syntax of the ElevenLabs API (batch and realtime); their number and
# length are the request model's vocabulary limits (services.request).
KEYTERM_MAX_WORDS = 5
KEYTERM_FORBIDDEN = set("<>{}[]\\")
# Our request fields under their ElevenLabs names, for error messages.
FIELD_NAMES = {
    "model": "model_id",
    "language": "language_code",
    "vocabulary": "keyterms",
    "speaker_detection": "diarize",
    "pii_entity_types": "entity_detection",
}
METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 2


class MissingField(ValidationFailed):
    code = "value_error.missing"


class UnsupportedFeature(InvalidRequest):
    code = "unsupported_feature"


@dataclass(frozen=True)
class ScribeRequest:
    model_id: str
    job: TranscriptionRequest  # what is transcribed, in the server's terms
    options: ResponseOptions
    upload: BinaryIO | None = None
    filename: str | None = None
    url: str | None = None
    raw_pcm: bool = False
    formats: tuple[ExportSpec, ...] = ()
    webhook: bool = False
    webhook_id: str | None = None
    webhook_metadata: Any = None
    enable_logging: bool = True
    # Entity (PII) detection / redaction: canonical types (dalston.pii).
    entity_detection: tuple[str, ...] = ()
    entity_redaction: tuple[str, ...] = ()  # a subset of entity_detection
    entity_redaction_mode: str = "redacted"


def parse_enable_logging(raw: str | None) -> bool:
    if raw is None or raw.strip().lower() in ("", "null", "true", "1"):
        return True
    if raw.strip().lower() in ("false", "0"):
        return False
    raise ValidationFailed(
        f"enable_logging must be true or false, not {raw!r}.",
        param="enable_logging",
        loc=["query", "enable_logging"],
    )


def parse_request(
    fields: FormFields, settings: Settings, *, enable_logging: bool
) -> ScribeRequest:
    model_id = fields.text("model_id")
    if model_id is None:
        raise MissingField("field required", param="model_id")
    _refuse_unsupported(fields)
    diarize = fields.boolean("diarize")
    num_speakers = fields.integer("num_speakers")
    threshold = fields.number("diarization_threshold")
    if num_speakers is not None:
        threshold = None  # upstream: the threshold applies only without a count
    detection, redaction, redaction_mode = _entities(fields)

    language = _language(fields.text("language_code"))
    model = _model(model_id, settings)
    options = _response_options(fields)
    upload, filename, url = _source(fields)
    file_format = (fields.text("file_format") or "other").lower()
    if file_format not in ("other", "pcm_s16le_16"):
        raise _invalid("file_format", "must be 'pcm_s16le_16' or 'other'.")
    webhook = fields.boolean("webhook")
    webhook_id = fields.text("webhook_id")
    metadata = _metadata(fields.text_or_json("webhook_metadata"))
    if not webhook and webhook_id is not None:
        raise _invalid("webhook_id", "is only valid when webhook is true.")
    if not webhook and metadata is not None:
        raise _invalid("webhook_metadata", "is only used when webhook is true.")
    options = replace(
        options,
        entities=bool(detection),
        redact_types=redaction,
        redaction_mode=redaction_mode,
    )
    granularity = options.timestamps_granularity
    job = TranscriptionRequest.build(
        FIELD_NAMES,
        error=ValidationFailed,
        model=model,
        language=language,
        # "none" still needs segments to show text; words are split from them.
        timestamps_granularity="segment" if granularity == "none" else granularity,
        vocabulary=check_keyterms(fields.strings("keyterms")),
        temperature=fields.number("temperature"),
        seed=fields.integer("seed"),
        multichannel=options.use_multi_channel,
        speaker_detection="diarize" if diarize else "none",
        num_speakers=num_speakers,
        diarization_threshold=threshold,
        pii_detection=bool(detection),
        pii_entity_types=detection,
        entity_redaction_mode=redaction_mode if detection else None,
    )
    request = ScribeRequest(
        model_id=model_id,
        job=job,
        options=options,
        upload=upload,
        filename=filename,
        url=url,
        raw_pcm=file_format == "pcm_s16le_16",
        formats=tuple(parse_additional_formats(fields)),
        webhook=webhook,
        webhook_id=webhook_id,
        webhook_metadata=metadata,
        enable_logging=enable_logging,
        entity_detection=detection,
        entity_redaction=redaction,
        entity_redaction_mode=redaction_mode,
    )
    if options.use_multi_channel and (detection or diarize):
        raise _invalid(
            "use_multi_channel",
            "cannot be combined with diarize or entity detection (each channel is "
            "one speaker already).",
        )
    unknown = [name for name in fields.unread() if _has_value(fields, name)]
    if unknown:
        raise _invalid(
            unknown[0], f"is not a field of this API ({', '.join(unknown)})."
        )
    return request


# --- features this server does not have ----------------------------------------
_ROLES = "speaker role detection (no speaker role model is installed)"
_LIBRARY = "a speaker library (no speaker identification is installed)"


def _refuse_unsupported(fields: FormFields) -> None:
    refused: list[str] = []

    def flag(name: str, needs: str) -> None:
        if fields.boolean(name):
            refused.append(f"{name}=true needs {needs}")

    def value(name: str, needs: str, *, as_list: bool = False) -> None:
        present = fields.strings(name) if as_list else fields.text(name)
        if present:
            refused.append(f"{name} needs {needs}")

    flag("detect_speaker_roles", _ROLES)
    flag("use_speaker_library", _LIBRARY)
    flag("no_verbatim", "a clean-verbatim model (Whisper transcribes as it hears)")
    value("transcript_edit", "a transcript editing (LLM) stage, which is not installed")
    value(
        "numbers_format",
        "a number formatting (inverse text normalisation) stage, which is not "
        "installed; Whisper writes numbers as it hears them",
    )
    value(
        "secondary_language_codes",
        "code-switching decoding, which Whisper does not do (it decodes one language "
        "per 30 s window)",
        as_list=True,
    )
    if refused:
        raise UnsupportedFeature(
            "Not available on this server: " + "; ".join(refused) + ".",
            param=refused[0].split("=")[0].split(" ")[0],
        )


# --- fields ---------------------------------------------------------------------
def _entities(fields: FormFields) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """``entity_detection`` / ``entity_redaction`` as entity types, and the mode.

    Redaction needs detection of what it redacts: a redaction whose types were not
    asked for in ``entity_detection`` (or with no detection at all) is refused.
    """
    detect_raw = fields.strings("entity_detection")
    redact_raw = fields.strings("entity_redaction")
    mode = (fields.text("entity_redaction_mode") or "redacted").lower()
    try:
        detection = resolve_entity_types(detect_raw) if detect_raw else ()
    except ValueError as exc:
        raise _invalid("entity_detection", str(exc)) from None
    try:
        redaction = resolve_entity_types(redact_raw) if redact_raw else ()
    except ValueError as exc:
        raise _invalid("entity_redaction", str(exc)) from None
    if redaction and not set(redaction) <= set(detection):
        raise _invalid("entity_redaction", "must be a subset of entity_detection.")
    if mode not in REDACTION_MODES:
        raise _invalid(
            "entity_redaction_mode", "must be one of " + ", ".join(REDACTION_MODES)
        )
    if fields.text("entity_redaction_mode") and not redaction:
        raise _invalid("entity_redaction_mode", "needs entity_redaction.")
    return tuple(detection), tuple(redaction), mode


def _language(raw: str | None) -> str | None:
    if raw is None or raw.lower() == "auto":
        return None
    code = to_whisper(raw)
    if code is None:
        raise _invalid(
            "language_code",
            f"{raw!r} is not an ISO 639-1 / 639-3 code of a language this server "
            "transcribes.",
        )
    return code


def _model(model_id: str, settings: Settings) -> str:
    """The Dalston model id (or ``auto``) an ElevenLabs ``model_id`` names."""
    mapped = settings.elevenlabs_models.get(model_id)
    if mapped is None:
        known = ", ".join(sorted(settings.elevenlabs_models))
        raise _invalid(
            "model_id", f"Unknown model_id {model_id!r}; use one of {known}."
        )
    return mapped


def _response_options(fields: FormFields) -> ResponseOptions:
    granularity = (fields.text("timestamps_granularity") or "word").lower()
    if granularity not in ("none", "word", "character"):
        raise _invalid(
            "timestamps_granularity", "must be one of 'none', 'word', 'character'."
        )
    multichannel = fields.boolean("use_multi_channel")
    style = (fields.text("multichannel_output_style") or "separate").lower()
    if style not in ("separate", "combined"):
        raise _invalid("multichannel_output_style", "must be 'separate' or 'combined'.")
    if style == "combined" and not multichannel:
        raise _invalid(
            "multichannel_output_style", "'combined' needs use_multi_channel=true."
        )
    if style == "combined" and granularity == "none":
        raise _invalid(
            "multichannel_output_style",
            "'combined' sorts words by time, so timestamps_granularity must not be "
            "'none'.",
        )
    return ResponseOptions(
        timestamps_granularity=granularity,
        tag_audio_events=fields.boolean("tag_audio_events", default=True),
        use_multi_channel=multichannel,
        multichannel_output_style=style,
    )


def _source(fields: FormFields) -> tuple[BinaryIO | None, str | None, str | None]:
    upload = fields.file("file")
    urls = {
        name: url
        for name in ("source_url", "cloud_storage_url")
        if (url := fields.text(name)) is not None
    }
    if (upload is not None) + len(urls) != 1:
        raise _invalid(
            "file",
            "Exactly one of file, source_url or cloud_storage_url must be provided.",
        )
    if upload is not None:
        return upload.file, upload.filename, None
    name, url = next(iter(urls.items()))
    if not url.lower().startswith(("http://", "https://")):
        raise _invalid(name, "must be an http(s) URL.")
    return None, None, url


def check_keyterms(terms: list[str]) -> list[str]:
    """ElevenLabs' keyterm syntax (batch and realtime): at most
    ``KEYTERM_MAX_WORDS`` words and none of ``< > { } [ ] \\``. How many and
    how long is the request model's vocabulary rule."""
    for term in terms:
        if len(term.split()) > KEYTERM_MAX_WORDS:
            raise _invalid(
                "keyterms", f"{term!r} has more than {KEYTERM_MAX_WORDS} words."
            )
        if KEYTERM_FORBIDDEN & set(term):
            raise _invalid(
                "keyterms", f"{term!r} holds one of the characters < > {{ }} [ ] \\."
            )
    return terms


def _metadata(raw: str | None) -> Any:
    if raw is None:
        return None
    if len(raw.encode()) > METADATA_MAX_BYTES:
        raise _invalid("webhook_metadata", "is larger than 16 KB.")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        return raw  # a plain string is echoed as it is
    if isinstance(parsed, str):
        return parsed
    if not isinstance(parsed, dict):
        raise _invalid("webhook_metadata", "must be a JSON object or a string.")
    if _depth(parsed) > METADATA_MAX_DEPTH:
        raise _invalid(
            "webhook_metadata", f"nests deeper than {METADATA_MAX_DEPTH} levels."
        )
    return parsed


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _has_value(fields: FormFields, name: str) -> bool:
    values = fields.form.getlist(name)
    return any(
        not isinstance(v, str) or v.strip().lower() not in ("", "null") for v in values
    )


def _invalid(name: str, message: str) -> ValidationFailed:
    text = message if message[:1].isupper() else f"{name} {message}"
    return ValidationFailed(text, param=name)
