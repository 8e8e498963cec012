"""Where someone speaks: Silero VAD (shipped with faster-whisper) over the file.

Diarization scores every second of missed or invented speech, so the settings
differ from faster-whisper's ASR defaults (2 s of silence to split, 400 ms pad):
300 ms pauses split regions, so turns can change there, and the pad is 200 ms.
The speech threshold is 0.3 rather than Silero's 0.5: on the corpus missed speech
(quiet far-field talkers) outweighed false alarms about twentyfold, and 0.3 cut
misses from 80 s to 63 s for 4 s more false alarm; lower added noise.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dalston.audio import SAMPLE_RATE, MonoSource
from dalston.audio.vad import CHUNK_S, quiet_gain_of, speech_timestamps


@dataclass(frozen=True)
class SpeechOptions:
    threshold: float = 0.3
    min_speech_ms: int = 100
    min_silence_ms: int = 300
    pad_ms: int = 200


def speech_regions(
    source: MonoSource, options: SpeechOptions = SpeechOptions()
) -> list[tuple[float, float]]:
    """Speech as sorted, non-overlapping ``(start, end)`` spans in seconds."""
    from faster_whisper.vad import VadOptions

    vad = VadOptions(
        threshold=options.threshold,
        min_speech_duration_ms=options.min_speech_ms,
        min_silence_duration_ms=options.min_silence_ms,
        speech_pad_ms=options.pad_ms,
    )
    # A recording too quiet for the VAD is raised first, all of it by one gain.
    gain = np.float32(quiet_gain_of(source.chunks(CHUNK_S)))

    def chunks() -> Iterator[tuple[int, np.ndarray]]:
        for first, piece in source.chunks(CHUNK_S):
            yield first, piece if gain == 1 else piece * gain

    # One Silero state over each chunk, as faster-whisper runs it, gives the
    # regions the clustering was tuned on: the state started afresh after each
    # quiet stretch (as transcription's is, see audio.vad) moved them a little
    # and the clustering with them (ami_trn00: two regions 0.14 s apart joined,
    # DER 0.285 -> 0.54). Speech that state missed altogether (after a beep, a
    # tone, music: none at all of a 24 s recording) is added from the other.
    carried = speech_timestamps(chunks(), vad, restart=False)
    missed = _apart(speech_timestamps(chunks(), vad), carried)
    spans = sorted(carried + missed)
    return [(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in spans]


def _apart(
    spans: list[tuple[int, int]], taken: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The ``spans`` that overlap none of ``taken`` (sorted, not overlapping)."""
    ends = [end for _, end in taken]
    out = []
    for start, end in spans:
        i = bisect_right(ends, start)  # the first taken span ending after start
        if i == len(taken) or taken[i][0] >= end:
            out.append((start, end))
    return out
