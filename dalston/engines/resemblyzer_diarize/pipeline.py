"""The diarization pipeline over one mono 16 kHz signal.

speech regions (Silero VAD) -> windows over the speech -> Resemblyzer embeddings ->
speaker count and clusters -> frame-level Viterbi relabelling -> tidy turns.
Each step lives in its own module; this one only wires them and names speakers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dalston.audio import MonoSource, Samples
from dalston.engines.resemblyzer_diarize.clustering import (
    ClusterOptions,
    assign_speakers,
    centroids,
)
from dalston.engines.resemblyzer_diarize.embeddings import (
    SpeakerEncoder,
    WindowOptions,
    level_gain,
    sliding_windows,
)
from dalston.engines.resemblyzer_diarize.options import DiarizeOptions
from dalston.engines.resemblyzer_diarize.resegment import (
    ResegmentOptions,
    Turn,
    ensure_speakers,
    frame_scores,
    segment,
    tidy,
)
from dalston.engines.resemblyzer_diarize.speech import SpeechOptions, speech_regions

BACKEND = "resemblyzer"


@dataclass(frozen=True)
class PipelineOptions:
    """The tuned settings of every step (the defaults were tuned on the corpus)."""

    speech: SpeechOptions = field(default_factory=SpeechOptions)
    windows: WindowOptions = field(default_factory=WindowOptions)
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    resegment: ResegmentOptions = field(default_factory=ResegmentOptions)


def diarize(
    audio: np.ndarray | MonoSource,
    options: DiarizeOptions,
    encoder: SpeakerEncoder,
    check_cancelled: Callable[[], None] = lambda: None,
    tuning: PipelineOptions = PipelineOptions(),
) -> dict[str, Any]:
    """The diarize stage's output for ``audio`` (mono at 16 kHz: an array, or a
    source read span by span, as the engine reads the prepared file)."""
    source = Samples(audio) if isinstance(audio, np.ndarray) else audio
    regions = speech_regions(source, tuning.speech)
    check_cancelled()
    windows = sliding_windows(regions, tuning.windows)
    if not windows:
        # No speech, or too little to embed: all of it (if any) is one speaker.
        turns = tidy([Turn(s, e, 0) for s, e in regions], tuning.resegment)
        return stage_output(turns)
    gain = level_gain(source, regions)
    embeddings = encoder.embed(source, windows, check_cancelled, gain)
    check_cancelled()
    labels = assign_speakers(
        embeddings, options.count, options.strictness, tuning.cluster
    )
    count = int(labels.max()) + 1
    similarities = embeddings @ centroids(embeddings, labels, count).T
    check_cancelled()
    scores = frame_scores(regions, windows, similarities, tuning.resegment.frame_s)
    turns = segment(regions, scores, tuning.resegment)
    if options.count.num_speakers is not None or options.count.min_speakers:
        # A requested count must show even where smoothing erased a speaker.
        turns = ensure_speakers(turns, count, windows, similarities)
    return stage_output(turns)


def stage_output(turns: list[Turn]) -> dict[str, Any]:
    """Speakers named ``SPEAKER_00``... in order of first appearance."""
    names: dict[int, str] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        names.setdefault(turn.speaker, f"SPEAKER_{len(names):02d}")
    return {
        "backend": BACKEND,
        "speakers": list(names.values()),
        "turns": [
            {
                "start": round(t.start, 3),
                "end": round(t.end, 3),
                "speaker": names[t.speaker],
            }
            for t in sorted(turns, key=lambda t: t.start)
        ],
        "num_speakers": len(names),
    }
