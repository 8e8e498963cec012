"""Merge the stages' outputs into the transcript that the job serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.transcript import Segment, Speaker, Transcript, TranscriptMetadata
from dalston.transcript.model import ChannelSummary


def assemble_transcript(
    *, model: str, params: Mapping[str, Any], outputs: Mapping[str, dict[str, Any]]
) -> Transcript:
    prepared = outputs["prepare"]
    transcribed = outputs["transcribe"]
    keep_words = params.get("timestamps_granularity", "word") in ("word", "character")
    segments = [Segment.model_validate(s) for s in transcribed["segments"]]
    if not keep_words:
        segments = [s.model_copy(update={"words": None}) for s in segments]
    speakers: list[Speaker] = []
    channels = transcribed.get("channels")
    if channels and params.get("speaker_detection") == "per_channel":
        # One speaker per channel: the usual call-centre / interview recording.
        speakers = [
            Speaker(id=f"SPEAKER_{c['channel_index']:02d}", channel=c["channel_index"])
            for c in channels
        ]
        segments = [_label_channel_speaker(s) for s in segments]
    return Transcript(
        text=transcribed["text"],
        language_code=transcribed.get("language_code"),
        language_probability=transcribed.get("language_probability"),
        duration=prepared["duration"],
        channels=prepared.get("channels", 1),
        speakers=speakers,
        segments=segments,
        channel_transcripts=(
            [ChannelSummary.model_validate(c) for c in channels] if channels else None
        ),
        metadata=TranscriptMetadata(
            model=model,
            stages=list(outputs),
            decode_mode=transcribed.get("decode_mode"),
        ),
    )


def _label_channel_speaker(segment: Segment) -> Segment:
    speaker = f"SPEAKER_{segment.channel or 0:02d}"
    words = [w.model_copy(update={"speaker": speaker}) for w in segment.words or []]
    return segment.model_copy(
        update={"speaker": speaker, "words": words if segment.words else None}
    )
