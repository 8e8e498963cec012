"""Engine ids and where their classes live; the only place that names them."""

from __future__ import annotations

import importlib

from dalston.engine_sdk.base import BatchEngine

ENGINE_CLASSES: dict[str, str] = {
    "audio-prepare": "engines.audio_prepare.engine:AudioPrepareEngine",
    "faster-whisper": "engines.faster_whisper.engine:FasterWhisperEngine",
}


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
