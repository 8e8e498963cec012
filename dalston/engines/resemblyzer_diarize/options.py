"""Task parameters for diarization, parsed once into a frozen value.

``diarization_threshold`` follows ElevenLabs (0.1-0.4, default 0.22, lower = more
speakers). Here it scales, in proportion, the gain a new speaker must bring to be
kept (the share of the remaining within-speaker spread it explains, see
``clustering.SplitRule``): ``strictness = threshold / 0.22``. 0.22 keeps the rule
tuned on the corpus (a 30 s conversation needs a gain of ~0.16); 0.1 asks for
0.45x that (~0.07 at 30 s: a single voice splits too, so more speakers); 0.4 asks
for 1.8x (~0.29 at 30 s: only clearly different voices stay apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dalston.engine_sdk import PermanentEngineError
from dalston.engines.resemblyzer_diarize.clustering import MAX_SPEAKERS, SpeakerCount

ELEVENLABS_DEFAULT_THRESHOLD = 0.22
THRESHOLD_RANGE = (0.1, 0.4)


@dataclass(frozen=True)
class DiarizeOptions:
    count: SpeakerCount = field(default_factory=SpeakerCount)
    strictness: float = 1.0

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DiarizeOptions:
        num = _speaker_count(params, "num_speakers")
        low = _speaker_count(params, "min_speakers")
        high = _speaker_count(params, "max_speakers")
        if low is not None and high is not None and low > high:
            raise PermanentEngineError("min_speakers must not exceed max_speakers")
        return cls(
            count=SpeakerCount(num, low, high),
            strictness=threshold_to_strictness(params.get("diarization_threshold")),
        )


def threshold_to_strictness(threshold: Any) -> float:
    """ElevenLabs ``diarization_threshold`` -> split ``strictness`` (see above)."""
    if threshold is None:
        return 1.0
    if isinstance(threshold, bool):
        raise PermanentEngineError("diarization_threshold must be a number")
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise PermanentEngineError("diarization_threshold must be a number") from None
    low, high = THRESHOLD_RANGE
    if not low <= value <= high:
        raise PermanentEngineError(
            f"diarization_threshold must be within {low}..{high}"
        )
    return value / ELEVENLABS_DEFAULT_THRESHOLD


def _speaker_count(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PermanentEngineError(f"{name} must be an integer")
    try:
        number = float(value)
    except ValueError:
        raise PermanentEngineError(f"{name} must be an integer") from None
    if not number.is_integer():
        raise PermanentEngineError(f"{name} must be an integer")
    count = int(number)
    if not 1 <= count <= MAX_SPEAKERS:
        raise PermanentEngineError(f"{name} must be within 1..{MAX_SPEAKERS}")
    return count
