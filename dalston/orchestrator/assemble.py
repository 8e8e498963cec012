"""Merge the stages' outputs into the transcript that the job serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.transcript import Segment, Transcript, TranscriptMetadata


def assemble_transcript(
    *, model: str, params: Mapping[str, Any], outputs: Mapping[str, dict[str, Any]]
) -> Transcript:
    prepared = outputs["prepare"]
    transcribed = outputs["transcribe"]
    keep_words = params.get("timestamps_granularity", "word") == "word"
    segments = [Segment.model_validate(s) for s in transcribed["segments"]]
    if not keep_words:
        segments = [s.model_copy(update={"words": None}) for s in segments]
    return Transcript(
        text=transcribed["text"],
        language_code=transcribed.get("language_code"),
        language_probability=transcribed.get("language_probability"),
        duration=prepared["duration"],
        channels=prepared.get("channels", 1),
        segments=segments,
        metadata=TranscriptMetadata(
            model=model,
            stages=list(outputs),
            decode_mode=transcribed.get("decode_mode"),
        ),
    )
