"""``resemblyzer-diarize``: speaker diarization with Resemblyzer d-vectors, offline."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="resemblyzer-diarize",
    stage="diarize",
    target="dalston.engines.resemblyzer_diarize.engine:ResemblyzerDiarizeEngine",
    extra="diarize",
    requirements=(
        "torch",
        "resemblyzer",
        "scipy",
    ),
    backend="resemblyzer",
)
