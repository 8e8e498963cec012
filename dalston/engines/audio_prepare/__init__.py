"""``audio-prepare``: any audio in, 16 kHz mono WAV out (the ``prepare`` stage)."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="audio-prepare",
    stage="prepare",
    target="dalston.engines.audio_prepare.engine:AudioPrepareEngine",
)
