"""``presidio-pii``: find PII in the transcript's text and say when it was spoken.

Reads the transcript from the latest stage that holds one (merge, align or
transcribe) and returns the entities (character offsets into its ``text`` and the
audio times of the words they cover), ``text`` with them masked, and the entity
types it looked for. The analyzer (spaCy + presidio, about 2 s) is built on the
first task, once, and shared by every task after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.presidio_pii import SPEC
from dalston.engines.presidio_pii.detector import PiiDetector, shared_detector
from dalston.engines.presidio_pii.words import WordIndex
from dalston.pii import (
    DEFAULT_REDACTION_MODE,
    REDACTION_MODES,
    redact_text,
    resolve_entity_types,
)

# Stages whose output is a whole transcript, latest first (as in
# dalston.orchestrator.dag, not imported: engines stay apart from the orchestrator).
TRANSCRIPT_STAGES = ("merge", "align", "transcribe")


class PresidioPiiEngine(BatchEngine):
    spec = SPEC

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            engine_id=self.engine_id, stage=self.stage, languages=("en",)
        )

    @staticmethod
    def shared_detector() -> PiiDetector:
        """The process's detector, also used by live entity detection."""
        return shared_detector()

    def detector(self) -> PiiDetector:
        """The process's shared detector (built by the first caller, about 2 s)."""
        try:
            return shared_detector()
        except (ImportError, OSError) as exc:  # OSError: no spaCy model
            # Retrying cannot install a package: fail the job now.
            raise PermanentEngineError(
                f"the PII analyzer cannot load ({exc}); "
                "install it with pip install 'dalston[pii]'"
            ) from exc

    def process(self, task: TaskInput) -> TaskOutput:
        transcript = _transcript(task.inputs)
        try:
            types = resolve_entity_types(task.params.get("pii_entity_types"))
        except ValueError as exc:
            raise PermanentEngineError(str(exc)) from exc
        mode = str(task.params.get("entity_redaction_mode") or DEFAULT_REDACTION_MODE)
        if mode not in REDACTION_MODES:
            raise PermanentEngineError(
                f"entity_redaction_mode must be one of {', '.join(REDACTION_MODES)}"
                f", not {mode!r}"
            )
        text = str(transcript.get("text") or "")
        detector = self.detector()
        task.check_cancelled()
        found = [d for d in detector.find(text) if d.entity_type in types]
        words = WordIndex(transcript)
        entities = []
        for d in found:
            start, end = words.times(d.start, d.end)
            entities.append(
                {
                    "text": text[d.start : d.end],
                    "entity_type": d.entity_type,
                    "start_char": d.start,
                    "end_char": d.end,
                    "start": start,
                    "end": end,
                    "confidence": round(d.score, 4),
                }
            )
        return TaskOutput(
            data={
                "entities": entities,
                "redacted_text": redact_text(text, entities, mode),
                "entity_types": list(types),
            }
        )


def _transcript(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    for stage in TRANSCRIPT_STAGES:
        found = inputs.get(stage)
        if isinstance(found, Mapping):
            return found
    raise PermanentEngineError(
        f"pii needs a transcript from one of: {', '.join(TRANSCRIPT_STAGES)}"
    )
