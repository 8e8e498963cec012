"""``transcript-merge``: the transcript (aligned or not) + diarization turns ->
a transcript with a speaker on every word and segment.

No model: it runs wherever the orchestrator's workers run, in milliseconds.
"""

from __future__ import annotations

from dalston.engine_sdk import (
    BatchEngine,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.transcript_merge import SPEC
from dalston.engines.transcript_merge.speakers import label_transcript, parse_turns


class TranscriptMergeEngine(BatchEngine):
    spec = SPEC

    def process(self, task: TaskInput) -> TaskOutput:
        transcript = task.inputs.get("align") or task.inputs.get("transcribe")
        diarized = task.inputs.get("diarize")
        if transcript is None or diarized is None:
            raise PermanentEngineError(
                "merge needs a transcript (align or transcribe) and diarize outputs"
            )
        merged = label_transcript(transcript, parse_turns(diarized.get("turns", [])))
        merged["diarization"] = {
            "backend": diarized.get("backend"),
            "num_speakers": len(merged["speakers"]),
        }
        return TaskOutput(data=merged)
