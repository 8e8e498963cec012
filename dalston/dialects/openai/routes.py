"""OpenAI-compatible transcription and translation (``/v1/audio/*``).

Wire format: shared specs, compat-apis section C. The official ``openai`` SDKs
(Python and Node) talk to ``<server>/v1`` with ``Authorization: Bearer <key>``.

``POST /v1/audio/transcriptions`` is shared with native job creation
(``routes/jobs.py``): a request is OpenAI-style when it names an OpenAI model
(``settings.openai_models``), carries any OpenAI-only field, or comes from an
OpenAI SDK (``x-stainless-lang`` header or an ``OpenAI/`` user agent). A request
with none of these creates a native job (201).

Decisions, each one a choice where the upstream API leaves room:

- **Synchronous.** The request submits an ordinary job and waits for it
  (``settings.sync_timeout_s``). The job is **kept** like any native job: it is
  listed by ``GET /v1/audio/transcriptions``, shows its transcript there, and
  is removed with ``DELETE``, like every other job. The response carries its id
  in ``x-dalston-job-id``. Keeping it means a request whose wait times out (504)
  or whose client went away still ends in a job the caller can fetch.
- **Models.** OpenAI names map through ``settings.openai_models``; any Dalston
  model id is accepted too. ``auto`` (the default mapping) is decided by
  ``dalston.services.policy``, as for every dialect: the multilingual model
  with no language (it detects, like ``whisper-1``), another language or a
  translation; the English-only default for ``language=en``.
- **temperature** (0..1): ``0``, as upstream documents, means "start at 0 and
  raise the temperature on log-probability fallback" (Whisper's schedule);
  other values fix the sampling temperature.
- **prompt** is Whisper's initial prompt; **keywords[]** become vocabulary
  (hotwords); **languages[]** may hold one code (used as ``language``).
  Translations also take ``language`` as a source-language hint (an extension).
  Language names (``"german"``) are accepted where codes are expected.
- **chunking_strategy** (``auto`` or a ``server_vad`` object) is validated and
  accepted: Dalston always cuts audio with Silero VAD, with its own settings.
- **include[]=logprobs** (json or stream only, as upstream): one entry per word,
  ``token`` = the word, ``logprob`` = ln(word probability), ``bytes`` = UTF-8.
- **stream=true** answers with Server-Sent Events for every model (upstream
  ignores it for ``whisper-1``; an SDK that asked for a stream can only parse a
  stream): one ``transcript.text.delta`` per segment once the job is done (one
  empty delta when there is no speech), then ``transcript.text.done``. SSE
  comment lines keep the connection alive while the job runs. Errors after the
  stream started are sent as ``data: {"error": {...}}``.
- **verbose_json** ``language`` is Whisper's lowercase English language name
  (``"english"``); for translations it is the detected *source* language.
  Segment ``text`` keeps Whisper's leading space.
- **diarized_json** runs the diarization stage and answers upstream's
  ``TranscriptionDiarized``: segments with ``id`` (``seg_N``), ``speaker``
  (``A``, ``B``...: upstream's labels when no known speakers are given) and
  ``type: transcript.text.segment``; with ``stream=true`` one such segment event
  each, then ``transcript.text.done``. ``gpt-4o-transcribe-diarize`` is accepted
  as a model name. ``known_speaker_*`` (speaker identification) is refused.
- Anything else the SDKs can send is honoured or refused with a 400; unknown
  fields are refused, never ignored.
"""

from __future__ import annotations

import asyncio
import json
import math
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from dalston.auth import Principal
from dalston.config import Settings
from dalston.errors import DalstonError, InvalidRequest, NotFound, UnsupportedMedia
from dalston.gateway.deps import Audit, AuditDep, CanWrite, IdempotencyKey, RuntimeDep
from dalston.gateway.errors import error_body
from dalston.gateway.forms import FormFields
from dalston.gateway.metrics import JOBS_SUBMITTED
from dalston.orchestrator import JobStatus
from dalston.runtime import Runtime
from dalston.services.jobs import AudioSource, JobRequest, JobView
from dalston.transcript import Segment, Transcript, Word
from dalston.transcript.export import CueOptions, ExportFormat, render

router = APIRouter(tags=["openai"])

Task = Literal["transcribe", "translate"]

# Requests naming one of these models, or any OpenAI-only field, are OpenAI-style.
OPENAI_MODELS = frozenset(
    {
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe-diarize",
        "gpt-transcribe",
    }
)
_DIARIZE_MODEL = "gpt-4o-transcribe-diarize"
# Our request fields under their OpenAI names, for error messages.
FIELD_NAMES = {"vocabulary": "keywords"}
_OPENAI_FIELDS = (
    "response_format",
    "stream",
    "prompt",
    "temperature",
    "include",
    "timestamp_granularities",
    "chunking_strategy",
    "known_speaker_names",
    "known_speaker_references",
    "keywords",
    "languages",
)
_TEXT_FORMATS = {
    "text": ExportFormat.TXT,
    "srt": ExportFormat.SRT,
    "vtt": ExportFormat.VTT,
}
_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_GRANULARITIES = ("word", "segment")
_VAD_KEYS = ("type", "threshold", "prefix_padding_ms", "silence_duration_ms")
_TEXT_PLAIN = "text/plain; charset=utf-8"
_KEEPALIVE_S = 15.0
_NO_SPEAKER_ID = (
    "needs speaker identification from reference clips, which this server "
    "does not do (diarized_json labels speakers A, B, ...)"
)

# Whisper's language names (openai/whisper ``tokenizer.LANGUAGES``), which
# verbose_json reports, plus the aliases Whisper accepts as input.
LANGUAGE_NAMES = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}
_LANGUAGE_CODES = {
    **{name: code for code, name in LANGUAGE_NAMES.items()},
    "burmese": "my",
    "valencian": "ca",
    "flemish": "nl",
    "haitian": "ht",
    "letzeburgesch": "lb",
    "pushto": "ps",
    "panjabi": "pa",
    "moldavian": "ro",
    "moldovan": "ro",
    "sinhalese": "si",
    "castilian": "es",
    "mandarin": "zh",
}


def language_name(code: str | None) -> str:
    """Whisper's lowercase English name for an ISO code (the code if unknown)."""
    if not code:
        return "unknown"
    return LANGUAGE_NAMES.get(code.lower(), code.lower())


# --- detection ----------------------------------------------------------------
def is_openai_request(fields: FormFields, request: Request | None = None) -> bool:
    """Whether a POST to ``/v1/audio/transcriptions`` speaks the OpenAI dialect."""
    form = fields.form
    if any(name in form or f"{name}[]" in form for name in _OPENAI_FIELDS):
        return True
    model = form.get("model")
    model_name = model.strip() if isinstance(model, str) else None
    if model_name in OPENAI_MODELS:
        return True
    if request is None:
        return False
    settings: Settings | None = getattr(request.app.state, "settings", None)
    if settings is not None and model_name in settings.openai_models:
        return True
    headers = request.headers
    return "x-stainless-lang" in headers or headers.get("user-agent", "").startswith(
        "OpenAI/"
    )


# --- translations route -----------------------------------------------------------
class TranslationForm(BaseModel):
    """The multipart fields of ``/v1/audio/translations`` (documentation)."""

    file: bytes = Field(description="Audio or video file")
    model: str = Field(default="whisper-1", description="whisper-1 or a model id")
    prompt: str | None = Field(default=None, description="English text to guide")
    response_format: str = Field(
        default="json", description="json|text|srt|verbose_json|vtt"
    )
    temperature: float = Field(default=0, ge=0, le=1)
    language: str | None = Field(
        default=None, description="Source language hint (Dalston extension)"
    )


_TRANSLATION_SCHEMA = TranslationForm.model_json_schema()
_TRANSLATION_SCHEMA["properties"]["file"] = {"type": "string", "format": "binary"}


@router.post(
    "/v1/audio/translations",
    responses={
        504: {"description": "The transcription did not finish within the wait."}
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _TRANSLATION_SCHEMA}},
        }
    },
)
async def create_translation(
    request: Request,
    runtime: RuntimeDep,
    principal: CanWrite,
    audit: AuditDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Translate speech to English text (OpenAI ``audio.translations.create``)."""
    async with request.form(max_files=4, max_fields=200) as form:
        return await transcribe(
            FormFields(form),
            runtime=runtime,
            principal=principal,
            task="translate",
            idempotency_key=idempotency_key,
            audit=audit,
        )


# --- the request ------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    task: Task
    response_format: str
    stream: bool
    words: bool
    segments: bool
    logprobs: bool


class _BadAudio(InvalidRequest):
    """Undecodable audio: upstream answers 400 (the SDK's BadRequestError)."""

    code = "unsupported_media"


def _bad_audio(exc: DalstonError) -> DalstonError:
    """Upstream answers 400 for audio it cannot decode, where we say 415."""
    if isinstance(exc, UnsupportedMedia):
        return _BadAudio(exc.message, param=exc.param or "file")
    return exc


async def transcribe(
    fields: FormFields,
    *,
    runtime: Runtime,
    principal: Principal,
    task: Task,
    idempotency_key: str | None = None,
    audit: Audit | None = None,
) -> Response:
    """Answer one OpenAI-style transcription or translation request."""
    job_request, plan = _parse(fields, runtime, task)
    upload = fields.file("file")
    if upload is None:
        raise InvalidRequest(
            "file is required: send the audio as 'file'.", param="file"
        )
    unknown = fields.unread()
    if unknown:
        endpoint = "transcriptions" if task == "transcribe" else "translations"
        raise InvalidRequest(
            f"Unknown or unsupported field(s) for /v1/audio/{endpoint}: "
            f"{', '.join(unknown)}.",
            param=unknown[0],
        )
    source = AudioSource(upload=upload.file, filename=upload.filename)
    try:
        job = await runtime.jobs.submit(
            tenant_id=principal.tenant_id,
            request=job_request,
            source=source,
            idempotency_key=idempotency_key,
        )
    except UnsupportedMedia as exc:
        raise _bad_audio(exc) from exc
    JOBS_SUBMITTED.inc()
    if audit is not None:
        await audit("job.created", "job", job.id, {"model": job.model})
    headers = {"x-dalston-job-id": job.id}
    timeout = runtime.settings.sync_timeout_s
    if plan.stream:
        return StreamingResponse(
            _sse(runtime, principal.tenant_id, job.id, timeout, plan),
            media_type="text/event-stream",
            headers={
                **headers,
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            },
        )
    try:
        transcript = await _finished(runtime, principal.tenant_id, job.id, timeout)
    except _JobUnfinished as exc:
        return JSONResponse(
            error_body(exc.code, exc.message, None, exc.status),
            status_code=exc.status,
            headers={**headers, "x-should-retry": "false"},
        )
    return _render(transcript, plan, headers)


def _parse(
    fields: FormFields, runtime: Runtime, task: Task
) -> tuple[JobRequest, _Plan]:
    response_format = (fields.text("response_format") or "json").lower()
    if response_format == "diarized_json" and task == "translate":
        raise InvalidRequest(
            "response_format=diarized_json is for transcriptions; translations "
            "answer json, verbose_json, text, srt or vtt.",
            param="response_format",
        )
    if response_format not in _FORMATS:
        raise InvalidRequest(
            f"Unknown response_format {response_format!r}; use one of "
            f"{', '.join(_FORMATS)}.",
            param="response_format",
        )
    language = _language(fields.text("language"))
    temperature = fields.number("temperature", low=0, high=1)
    prompt = fields.text("prompt")
    model_name = fields.text("model")

    stream = False
    granularities: list[str] = []
    logprobs = False
    if task == "transcribe":
        stream = fields.boolean("stream")
        granularities = _granularities(fields, response_format)
        logprobs = _include(fields, response_format)
        language = _languages(fields, language)
        _chunking_strategy(fields)
        for name in ("known_speaker_names", "known_speaker_references"):
            if fields.strings(name):
                raise InvalidRequest(f"{name}[] {_NO_SPEAKER_ID}.", param=name)
        if stream and response_format not in ("json", "text", "diarized_json"):
            raise InvalidRequest(
                "stream=true sends transcript.text events; it works with "
                f"response_format json, text or diarized_json, not "
                f"{response_format}.",
                param="stream",
            )

    want_words = "word" in granularities
    job_request = JobRequest.build(
        FIELD_NAMES,
        model=_model(model_name, runtime.settings),
        language=language,
        # Word times for word granularity, logprobs (word probabilities) and for
        # subtitle cues cut at word boundaries; segment times are enough otherwise.
        timestamps_granularity=(
            "word"
            if want_words or logprobs or response_format in ("srt", "vtt")
            else "segment"
        ),
        vocabulary=fields.strings("keywords") if task == "transcribe" else None,
        prompt=prompt,
        temperature=temperature,  # 0: Whisper's fallback schedule (request.py)
        task=task,
        speaker_detection="diarize" if response_format == "diarized_json" else "none",
    )
    plan = _Plan(
        task=task,
        response_format=response_format,
        stream=stream,
        words=want_words,
        segments="segment" in granularities or not granularities,
        logprobs=logprobs,
    )
    return job_request, plan


def _language(raw: str | None) -> str | None:
    if raw is None or raw.lower() == "auto":
        return None
    lowered = raw.lower()
    return _LANGUAGE_CODES.get(lowered, lowered)


def _languages(fields: FormFields, language: str | None) -> str | None:
    codes = [_language(c) for c in fields.strings("languages")]
    possible = sorted({c for c in codes if c})
    if not possible:
        return language
    if language is not None:
        if language.split("-")[0] not in {c.split("-")[0] for c in possible}:
            raise InvalidRequest(
                f"language {language!r} is not among languages[] {possible}.",
                param="languages",
            )
        return language
    if len(possible) > 1:
        raise InvalidRequest(
            "languages[] with more than one language cannot be honoured: Whisper "
            "either detects among all languages or is told one. Send one "
            "language (or none, to detect).",
            param="languages",
        )
    return possible[0]


def _granularities(fields: FormFields, response_format: str) -> list[str]:
    values = [g.lower() for g in fields.strings("timestamp_granularities")]
    for value in values:
        if value not in _GRANULARITIES:
            raise InvalidRequest(
                f"Unknown timestamp granularity {value!r}; use word and/or segment.",
                param="timestamp_granularities",
            )
    if values and response_format != "verbose_json":
        raise InvalidRequest(
            "timestamp_granularities[] requires response_format=verbose_json "
            f"(got {response_format}).",
            param="timestamp_granularities",
        )
    return values


def _include(fields: FormFields, response_format: str) -> bool:
    values = [v.lower() for v in fields.strings("include")]
    for value in values:
        if value != "logprobs":
            raise InvalidRequest(
                f"Unknown include[] value {value!r}; only logprobs is supported.",
                param="include",
            )
    if values and response_format != "json":
        raise InvalidRequest(
            "include[]=logprobs works only with response_format=json "
            f"(got {response_format}).",
            param="include",
        )
    return bool(values)


def _chunking_strategy(fields: FormFields) -> None:
    """Validate ``chunking_strategy``; Dalston always chunks with its own VAD."""
    nested: dict[str, Any] = dict(fields.nested("chunking_strategy"))
    raw = fields.text("chunking_strategy")
    if raw is not None:
        if raw.lower() == "auto" and not nested:
            return
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or nested:
            raise InvalidRequest(
                f"chunking_strategy must be 'auto' or a server_vad object, not "
                f"{raw!r}.",
                param="chunking_strategy",
            )
        nested = parsed
    if not nested:
        return
    unknown = sorted(set(nested) - set(_VAD_KEYS))
    if unknown:
        raise InvalidRequest(
            f"Unknown chunking_strategy key(s): {', '.join(unknown)}.",
            param="chunking_strategy",
        )
    if str(nested.get("type", "")).lower() != "server_vad":
        raise InvalidRequest(
            "chunking_strategy[type] must be server_vad.", param="chunking_strategy"
        )
    _bounded(nested, "threshold", 0.0, 1.0, whole=False)
    _bounded(nested, "prefix_padding_ms", 0, 10_000, whole=True)
    _bounded(nested, "silence_duration_ms", 0, 10_000, whole=True)


def _bounded(
    values: dict[str, Any], key: str, low: float, high: float, *, whole: bool
) -> None:
    raw = values.get(key)
    if raw is None or str(raw).strip().lower() in ("", "null"):
        return
    param = f"chunking_strategy[{key}]"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidRequest(
            f"{param} must be a number, not {raw!r}.", param=param
        ) from None
    if math.isnan(value) or not low <= value <= high or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise InvalidRequest(
            f"{param} must be {kind} within {low:g}..{high:g}.", param=param
        )


def _model(name: str | None, settings: Settings) -> str:
    """The Dalston model id (or ``auto``) for an OpenAI model name or a Dalston
    model id; ``dalston.services.policy`` decides what ``auto`` is."""
    name = name or "auto"
    if name in settings.openai_models:
        return settings.openai_models[name]
    if name == _DIARIZE_MODEL:
        return "auto"  # speakers come from response_format=diarized_json
    return name  # a Dalston model id; the policy refuses unknown ones


# --- waiting ----------------------------------------------------------------------
class _JobUnfinished(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def _finished(
    runtime: Runtime, tenant_id: str, job_id: str, timeout: float
) -> Transcript:
    try:
        view: JobView = await runtime.jobs.wait(
            tenant_id=tenant_id, job_id=job_id, timeout=timeout
        )
    except (KeyError, NotFound):
        raise _JobUnfinished(
            409, "conflict", f"Job {job_id} was deleted before it finished."
        ) from None
    job = view.job
    if view.transcript is not None:
        return view.transcript
    refused = view.input_error
    if refused is not None:  # the input failed the prepare stage: as at submit
        raise _bad_audio(refused)
    if job.status == JobStatus.FAILED:
        raise _JobUnfinished(
            500, "job_failed", f"Transcription failed (job {job_id}): {job.error}"
        )
    if job.status in (JobStatus.CANCELLED, JobStatus.CANCELLING):
        raise _JobUnfinished(
            409, "conflict", f"Job {job_id} was cancelled before it finished."
        )
    raise _JobUnfinished(
        504,
        "timeout",
        f"Job {job_id} did not finish within {timeout:g} s; it keeps running: "
        f"GET /v1/audio/transcriptions/{job_id} returns it when done.",
    )


async def _sse(
    runtime: Runtime, tenant_id: str, job_id: str, timeout: float, plan: _Plan
) -> AsyncIterator[bytes]:
    waiter = asyncio.ensure_future(_finished(runtime, tenant_id, job_id, timeout))
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=_KEEPALIVE_S)
            if done:
                break
            yield b": keep-alive\n\n"  # a comment line: SDKs skip it
        try:
            transcript = waiter.result()
        except _JobUnfinished as exc:
            yield _event(error_body(exc.code, exc.message, None, exc.status))
            return
        except DalstonError as exc:
            yield _event(error_body(exc.code, exc.message, exc.param, exc.status_code))
            return
        except Exception:
            yield _event(
                error_body("internal_error", "Internal server error.", None, 500)
            )
            return
        first = True
        if plan.response_format == "diarized_json":
            for payload in _diarized_segments(transcript):
                yield _event(payload)
                first = False
        for segment in transcript.segments if first else ():
            if not segment.text:
                continue
            delta: dict[str, Any] = {
                "type": "transcript.text.delta",
                "delta": segment.text if first else " " + segment.text,
            }
            if plan.logprobs:
                delta["logprobs"] = _logprobs(segment.words or [])
            yield _event(delta)
            first = False
        if first:  # no speech: upstream's first event is still a delta
            yield _event({"type": "transcript.text.delta", "delta": ""})
        done_event: dict[str, Any] = {
            "type": "transcript.text.done",
            "text": transcript.text,
        }
        if plan.logprobs:
            done_event["logprobs"] = _logprobs(transcript.words)
        yield _event(done_event)
    finally:
        if not waiter.done():
            waiter.cancel()


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


# --- rendering --------------------------------------------------------------------
def _render(transcript: Transcript, plan: _Plan, headers: dict[str, str]) -> Response:
    fmt = plan.response_format
    if fmt in _TEXT_FORMATS:
        body = render(transcript, _TEXT_FORMATS[fmt], CueOptions())
        return Response(content=body, media_type=_TEXT_PLAIN, headers=headers)
    usage = {"type": "duration", "seconds": transcript.duration}
    payload: dict[str, Any]
    if fmt == "diarized_json":
        payload = {
            "task": "transcribe",
            "duration": transcript.duration,
            "text": transcript.text,
            "segments": _diarized_segments(transcript),
            "usage": usage,
        }
    elif fmt == "json":
        payload = {"text": transcript.text}
        if plan.logprobs:
            payload["logprobs"] = _logprobs(transcript.words)
        if plan.task == "transcribe":
            payload["usage"] = usage
    else:  # verbose_json
        payload = {
            "task": plan.task,
            "language": language_name(transcript.language_code),
            "duration": transcript.duration,
            "text": transcript.text,
        }
        if plan.segments:
            payload["segments"] = [_segment(s) for s in transcript.segments]
        if plan.words:
            payload["words"] = [
                {"word": w.text, "start": w.start, "end": w.end}
                for w in transcript.words
            ]
        if plan.task == "transcribe":
            payload["usage"] = usage
    return JSONResponse(payload, headers=headers)


def _diarized_segments(transcript: Transcript) -> list[dict[str, Any]]:
    """Upstream's ``transcript.text.segment`` items, speakers named A, B, ..."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for segment in transcript.segments:
        if not segment.text:
            continue
        speaker = segment.speaker or "SPEAKER_00"
        name = names.setdefault(speaker, _speaker_letter(len(names)))
        out.append(
            {
                "type": "transcript.text.segment",
                "id": f"seg_{len(out)}",
                "start": segment.start,
                "end": segment.end,
                "speaker": name,
                "text": segment.text,
            }
        )
    return out


def _speaker_letter(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... like spreadsheet columns."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _segment(segment: Segment) -> dict[str, Any]:
    """An OpenAI segment; every field is required there.

    Whisper engines fill them all; for an engine that does not, ``seek`` falls
    back to the start in 10 ms frames, ``avg_logprob`` to the mean word
    log-probability, ``compression_ratio`` to Whisper's gzip ratio of the text.
    """
    words = segment.words or []
    avg_logprob = segment.avg_logprob
    if avg_logprob is None:
        logs = [_ln(w.confidence) for w in words if w.confidence is not None]
        avg_logprob = sum(logs) / len(logs) if logs else 0.0
    compression_ratio = segment.compression_ratio
    if compression_ratio is None:
        raw = segment.text.encode()
        compression_ratio = len(raw) / len(zlib.compress(raw)) if raw else 0.0
    return {
        "id": segment.id,
        "seek": segment.seek
        if segment.seek is not None
        else round(segment.start * 100),
        "start": segment.start,
        "end": segment.end,
        "text": f" {segment.text}" if segment.text else "",
        "tokens": list(segment.tokens or []),
        "temperature": segment.temperature if segment.temperature is not None else 0.0,
        "avg_logprob": avg_logprob,
        "compression_ratio": compression_ratio,
        "no_speech_prob": segment.no_speech_prob or 0.0,
    }


def _logprobs(words: Iterable[Word]) -> list[dict[str, Any]]:
    return [
        {
            "token": w.text,
            "logprob": None if w.confidence is None else _ln(w.confidence),
            "bytes": list(w.text.encode()),
        }
        for w in words
    ]


def _ln(probability: float) -> float:
    return math.log(min(max(probability, 1e-10), 1.0))
