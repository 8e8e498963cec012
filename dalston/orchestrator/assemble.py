"""Merge the stages' outputs into the transcript that the job serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.orchestrator.dag import TRANSCRIPT_STAGES
from dalston.transcript import (
    Entity,
    PiiSummary,
    Segment,
    Speaker,
    Transcript,
    TranscriptMetadata,
    talk_times,
)
from dalston.transcript.model import ChannelSummary


def assemble_transcript(
    *, model: str, params: Mapping[str, Any], outputs: Mapping[str, dict[str, Any]]
) -> Transcript:
    prepared = outputs["prepare"]
    # The latest stage that holds the whole transcript (merge > align > transcribe).
    final = next(outputs[s] for s in TRANSCRIPT_STAGES if s in outputs)
    transcribed = outputs["transcribe"]
    keep_words = params.get("timestamps_granularity", "word") in ("word", "character")
    segments = [Segment.model_validate(s) for s in final["segments"]]
    if not keep_words:
        segments = [s.model_copy(update={"words": None}) for s in segments]
    speakers: list[Speaker] = [
        Speaker.model_validate(s) for s in final.get("speakers") or []
    ]
    channels = transcribed.get("channels")
    if channels and params.get("speaker_detection") == "per_channel":
        # One speaker per channel: the usual call-centre / interview recording.
        segments = [_label_channel_speaker(s) for s in segments]
        talk = talk_times((s.speaker or "", s.start, s.end) for s in segments)
        speakers = [
            Speaker(
                id=(name := f"SPEAKER_{c['channel_index']:02d}"),
                channel=c["channel_index"],
                talk_time=talk.get(name, 0.0),
            )
            for c in channels
        ]
    alignment = final.get("alignment") or {}
    warnings = list(alignment.get("warnings") or [])
    entities, redacted_text, pii = _pii(params, outputs)
    return Transcript(
        text=final["text"],
        language_code=transcribed.get("language_code"),
        language_probability=transcribed.get("language_probability"),
        duration=prepared["duration"],
        channels=prepared.get("channels", 1),
        speakers=speakers,
        segments=segments,
        channel_transcripts=(
            [ChannelSummary.model_validate(c) for c in channels] if channels else None
        ),
        entities=entities,
        redacted_text=redacted_text,
        pii=pii,
        metadata=TranscriptMetadata(
            model=model,
            stages=list(outputs),
            warnings=warnings,
            decode_mode=transcribed.get("decode_mode"),
            word_timing=(
                (alignment.get("method") or "whisper") if keep_words else None
            ),
            diarization=(final.get("diarization") or {}).get("backend"),
        ),
    )


def _pii(
    params: Mapping[str, Any], outputs: Mapping[str, dict[str, Any]]
) -> tuple[list[Entity] | None, str | None, PiiSummary | None]:
    found = outputs.get("pii")
    if found is None:
        return None, None, None
    entities = [Entity.model_validate(e) for e in found.get("entities", [])]
    redacted = outputs.get("redact")
    summary = PiiSummary(
        entity_types=list(found.get("entity_types") or []),
        entity_count=len(entities),
        redacted_audio=redacted is not None,
        redaction_mode=(redacted or {}).get("mode"),
    )
    return entities, found.get("redacted_text"), summary


def _label_channel_speaker(segment: Segment) -> Segment:
    speaker = f"SPEAKER_{segment.channel or 0:02d}"
    words = [w.model_copy(update={"speaker": speaker}) for w in segment.words or []]
    return segment.model_copy(
        update={"speaker": speaker, "words": words if segment.words else None}
    )
