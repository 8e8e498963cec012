"""``faster-whisper``: Whisper in CTranslate2 (the ``transcribe`` stage)."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="faster-whisper",
    stage="transcribe",
    target="dalston.engines.faster_whisper.engine:FasterWhisperEngine",
)
