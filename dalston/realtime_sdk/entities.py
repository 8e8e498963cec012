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
from typing import TYPE_CHECKING

from dalston.engine_sdk.registry import engine_installed

if TYPE_CHECKING:
    from dalston.engines.presidio_pii.detector import PiiDetector

PII_ENGINE = "presidio-pii"


@dataclass(frozen=True)
class FoundEntity:
    text: str
    entity_type: str
    start_char: int
    end_char: int


def available() -> bool:
    return engine_installed(PII_ENGINE)


def _shared_detector() -> PiiDetector:
    from dalston.engines.presidio_pii.detector import shared_detector

    return shared_detector()


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
