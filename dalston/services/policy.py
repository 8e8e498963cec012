"""Which model transcribes a request, and in which language: one rule for
every dialect, batch and realtime.

A dialect maps its own model names (``scribe_v1``, ``whisper-1``...) to a
Dalston model id or ``auto`` and its language codes to ISO 639-1, builds a
:class:`~dalston.services.request.TranscriptionRequest`, and asks
:func:`choose`. Nothing else picks a model.

The rule:

- ``auto`` with **English** (``language=en``, transcription): the default model
  (``settings.default_model``, English-only ``whisper-tiny.en`` here), the
  fastest for English.
- ``auto`` with **no language**, ``auto``, **another language**, or a
  **translation**: the multilingual model (``settings.multilingual_model``,
  ``whisper-base`` here), which detects the spoken language when none is given.
  An English-only model would turn German speech into confident English
  nonsense. (When the configured default is itself multilingual it serves
  everything.)
- A **named** model is used as named. An English-only model asked for another
  language, or for a translation, is refused with a 400 naming the model to
  use instead.

Reporting the language (every dialect, batch and realtime):

- when the language was detected, the response carries Whisper's detected
  language and its probability;
- when the caller fixed it (``language=de``), or named an English-only model
  (which can only decode English), nothing was detected: the response reports
  that language with probability ``1.0``, which is what the engine itself
  reports for a fixed language (native ``parameters.language`` tells the two
  apart: ``null`` when detected);
- a stream detects once: its first confident detection fixes the language of
  its later utterances, which report that detection's probability
  (``dalston.realtime_sdk.session``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dalston.catalog import ModelCatalog
from dalston.catalog.catalog import ModelEntry
from dalston.config import Settings
from dalston.errors import InvalidRequest
from dalston.services.request import TranscriptionRequest

AUTO = "auto"


@dataclass(frozen=True)
class ModelChoice:
    """The model that serves a request and the language it decodes (None:
    detect)."""

    model: str
    language: str | None
    entry: ModelEntry


def auto_model(
    settings: Settings, catalog: ModelCatalog, request: TranscriptionRequest
) -> str:
    """The model ``auto`` stands for, for this request's language and task."""
    default = catalog.get(settings.default_model)
    if default.languages is None:
        return settings.default_model
    if (
        request.task == "transcribe"
        and request.language is not None
        and default.supports_language(request.language)
    ):
        return settings.default_model
    return settings.multilingual_model


def choose(
    request: TranscriptionRequest, settings: Settings, catalog: ModelCatalog
) -> ModelChoice:
    """The model and language for ``request``; refuses impossible pairs (400)."""
    named = request.model.strip() or AUTO
    model = auto_model(settings, catalog, request) if named == AUTO else named
    entry = catalog.get(model)
    if entry.stage != "transcribe":
        raise InvalidRequest(f"Model {model!r} does not transcribe.", param="model")
    language = request.language
    english_only = entry.languages is not None
    if english_only and not entry.supports_language(language):
        raise InvalidRequest(
            f"Model {model!r} transcribes only {', '.join(entry.languages or ())}, "
            f"not {language!r}; use {settings.multilingual_model!r} (or model=auto) "
            "for that language.",
            param="language",
        )
    if english_only and request.task == "translate":
        raise InvalidRequest(
            f"Model {model!r} is English-only and cannot translate; use "
            f"{settings.multilingual_model!r} (or model=auto).",
            param="model",
        )
    return ModelChoice(model=model, language=language, entry=entry)
