"""``audio-redact``: the original audio with silence or a beep over PII spans."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="audio-redact",
    stage="redact",
    target="dalston.engines.audio_redact.engine:AudioRedactEngine",
)
