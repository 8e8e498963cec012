"""``transcript-merge``: speakers onto words and segments (the ``merge`` stage)."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="transcript-merge",
    stage="merge",
    target="dalston.engines.transcript_merge.engine:TranscriptMergeEngine",
)
