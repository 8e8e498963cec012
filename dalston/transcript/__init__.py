from dalston.transcript.model import (
    Entity,
    PiiSummary,
    Segment,
    Speaker,
    Transcript,
    TranscriptMetadata,
    Word,
)

__all__ = [
    "Entity",
    "PiiSummary",
    "Segment",
    "Speaker",
    "Transcript",
    "TranscriptMetadata",
    "Word",
]
