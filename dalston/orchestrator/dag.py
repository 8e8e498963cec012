"""A job's stage graph, built from what the request asked for.

Each stage names its engine, the stages it waits for and the audio it reads. The
orchestrator runs any acyclic graph of them unchanged; ``docs/stages.md`` shows the
full graph and what each stage reads and writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dalston.engine_sdk.registry import SPECS, stage_engine


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


# Each stage's engine, from the engines' own declarations.
PREPARE_ENGINE = stage_engine("prepare")
MERGE_ENGINE = stage_engine("merge")
ALIGN_ENGINE = stage_engine("align")
PII_ENGINE = stage_engine("pii")
REDACT_ENGINE = stage_engine("redact")

# Engines that start while the stage they follow still runs (``EngineSpec.follows``).
FOLLOWS: dict[str, str] = {i: s.follows for i, s in SPECS.items() if s.follows}


def followed_stage(engine_id: str) -> str | None:
    """The stage whose output a task of this engine may start on early."""
    return FOLLOWS.get(engine_id)


# The stages that hold a whole transcript, latest first: each later one returns the
# transcript with its change applied, so readers take the first present.
TRANSCRIPT_STAGES = ("merge", "align", "transcribe")


def build_dag(
    params: Mapping[str, Any],
    *,
    transcribe_engine: str,
    diarize_engine: str | None = None,
) -> list[StageSpec]:
    """Stages in a topological order.

    ``params`` flags: ``align`` (bool), ``speaker_detection`` (``diarize`` adds
    diarize + merge), ``pii_detection`` and ``redact_pii_audio``.
    """
    specs = [
        StageSpec("prepare", PREPARE_ENGINE, audio=AudioInput.ORIGINAL),
        StageSpec("transcribe", transcribe_engine, depends_on=("prepare",)),
    ]
    text_stage = "transcribe"
    if params.get("align"):
        specs.append(StageSpec("align", ALIGN_ENGINE, depends_on=("transcribe",)))
        text_stage = "align"
    if params.get("speaker_detection") == "diarize":
        diarizer = diarize_engine or stage_engine("diarize")
        specs.append(StageSpec("diarize", diarizer, depends_on=("prepare",)))
        specs.append(
            StageSpec(
                "merge",
                MERGE_ENGINE,
                depends_on=(text_stage, "diarize"),
                audio=AudioInput.NONE,
            )
        )
        text_stage = "merge"
    if params.get("pii_detection") or params.get("redact_pii_audio"):
        specs.append(
            StageSpec(
                "pii", PII_ENGINE, depends_on=(text_stage,), audio=AudioInput.NONE
            )
        )
        if params.get("redact_pii_audio"):
            specs.append(
                StageSpec(
                    "redact",
                    REDACT_ENGINE,
                    depends_on=("pii",),
                    audio=AudioInput.ORIGINAL,
                )
            )
    check_acyclic(specs)
    return specs


def check_acyclic(specs: list[StageSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        missing = [d for d in spec.depends_on if d not in seen]
        if missing:
            raise ValueError(f"stage {spec.stage} depends on later/unknown {missing}")
        seen.add(spec.stage)
