"""Entity (PII) detection on live finals, for protocols that stream it
(ElevenLabs' ``committed_transcript_entities``).

The detector is the PII stage's (engines/presidio_pii ``shared_detector``): built
once per process on first use (spaCy + presidio, about 2 s) and shared by every
session and the PII engine; each call runs in a worker thread, never on the event
loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from dalston.engine_sdk.registry import engine_class, engine_installed, stage_engine

# The PII stage's engine: its detector is found through the engine registry, so
# this SDK imports no engine.
PII_ENGINE = stage_engine("pii")


@dataclass(frozen=True)
class FoundEntity:
    text: str
    entity_type: str
    start_char: int
    end_char: int


def available() -> bool:
    return engine_installed(PII_ENGINE)


def _shared_detector() -> Any:
    """The process's detector, shared with the PII stage (``find(text)`` gives
    detections with ``start``, ``end``, ``entity_type``)."""
    return engine_class(PII_ENGINE).shared_detector()  # type: ignore[attr-defined]


def _find(text: str, types: Collection[str]) -> list[FoundEntity]:
    return [
        FoundEntity(text[d.start : d.end], d.entity_type, d.start, d.end)
        for d in _shared_detector().find(text)
        if d.entity_type in types
    ]


async def find_entities(text: str, types: Collection[str]) -> list[FoundEntity]:
    """Entities of ``types`` in ``text``, offsets into ``text``."""
    if not text.strip():
        return []
    return await asyncio.to_thread(_find, text, types)


async def warm_up() -> None:
    """Build the detector ahead of the first final (keeps that final's latency)."""
    await asyncio.to_thread(_shared_detector)
