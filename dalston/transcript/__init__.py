from dalston.transcript.model import (
    Entity,
    PiiSummary,
    Segment,
    Speaker,
    Transcript,
    TranscriptMetadata,
    Word,
)
from dalston.transcript.speakers import talk_times

__all__ = [
    "Entity",
    "PiiSummary",
    "Segment",
    "Speaker",
    "Transcript",
    "TranscriptMetadata",
    "Word",
    "talk_times",
]
