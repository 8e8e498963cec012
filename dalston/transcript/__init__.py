from dalston.transcript.model import (
    Segment,
    Speaker,
    Transcript,
    TranscriptMetadata,
    Word,
)

__all__ = ["Segment", "Speaker", "Transcript", "TranscriptMetadata", "Word"]
