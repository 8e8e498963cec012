"""A job's stage graph, built from what the request asked for.

Each stage names its engine, the stages it waits for and the audio it reads. New
stages (align, diarize, PII, redact) are added here as more ``StageSpec`` entries;
the orchestrator runs any acyclic graph of them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AudioInput(StrEnum):
    NONE = "none"
    ORIGINAL = "original"  # the upload, as sent
    PREPARED = "prepared"  # 16 kHz mono WAV written by the prepare stage


@dataclass(frozen=True)
class StageSpec:
    stage: str
    engine_id: str
    depends_on: tuple[str, ...] = ()
    audio: AudioInput = AudioInput.PREPARED


def build_dag(params: Mapping[str, Any], *, transcribe_engine: str) -> list[StageSpec]:
    """Stages in a topological order."""
    del params  # no optional stages yet: align / diarize / pii plug in here
    return [
        StageSpec("prepare", "audio-prepare", audio=AudioInput.ORIGINAL),
        StageSpec("transcribe", transcribe_engine, depends_on=("prepare",)),
    ]


def check_acyclic(specs: list[StageSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        missing = [d for d in spec.depends_on if d not in seen]
        if missing:
            raise ValueError(f"stage {spec.stage} depends on later/unknown {missing}")
        seen.add(spec.stage)
