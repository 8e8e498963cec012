"""Forced alignment of Whisper's words with pocketsphinx (the ``align`` stage)."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="pocketsphinx-align",
    stage="align",
    target="dalston.engines.pocketsphinx_align.engine:PocketsphinxAlignEngine",
    extra="align",
    requirements=("pocketsphinx",),
    # Runs of words far enough apart are aligned while the rest is transcribed.
    follows="transcribe",
)
