"""``pyannote-diarize``: pyannote.audio pipelines, for users with a HF token."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="pyannote-diarize",
    stage="diarize",
    target="dalston.engines.pyannote_diarize.engine:PyannoteDiarizeEngine",
    extra="pyannote",
    requirements=(
        "torch",
        "pyannote.audio",
    ),
    opt_in=True,
    backend="pyannote",
)
