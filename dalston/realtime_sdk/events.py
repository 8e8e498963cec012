"""What a streaming session reports; each protocol adapter renders these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WordTiming:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class SpeechStarted:
    timestamp: float


@dataclass(frozen=True)
class SpeechEnded:
    timestamp: float


@dataclass(frozen=True)
class Partial:
    text: str
    start: float
    end: float
    # The leading words two successive decodes agreed on: they only grow within an
    # utterance (append-only protocols send these as deltas).
    stable: str = ""


@dataclass(frozen=True)
class Final:
    text: str
    start: float
    end: float
    language: str | None
    language_probability: float | None
    confidence: float | None
    words: tuple[WordTiming, ...] = field(default_factory=tuple)
    # Seconds from the end of the utterance's audio reaching the server to this
    # final being ready (what a listener waits after they stop talking).
    latency_s: float = 0.0


@dataclass(frozen=True)
class LagWarning:
    lag_seconds: float


Event = SpeechStarted | SpeechEnded | Partial | Final | LagWarning
