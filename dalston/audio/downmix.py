"""Two channels to one, without losing a voice to the mix.

The mix is the channels' mean, (L + R) / 2: it cannot clip, where FFmpeg's
stereo-to-mono matrix (each channel at 1/sqrt(2)) lifts a mono recording stored
as two identical channels by 3 dB and clips its peaks above -3 dBFS.

One wiring fault defeats any mean: a channel with its polarity inverted (R = -L,
a microphone cable or adapter wired the wrong way round) mixes to silence, and
the transcript comes back empty without a word of why. Where the channels'
difference holds ten times the energy of their sum (-10 dB: independent channels,
such as a call with one party per side, give about the same energy in both, and
ordinary stereo far more in the sum), the channels cancel, and the mix is half
their difference instead, which for R = -L is L itself.

The choice is made once per file, on its first ``DECIDE_S`` of audio with any
signal in it (the chunks are held until then, at most ``MAX_HOLD_S``), so the
whole file is mixed one way.
"""

from __future__ import annotations

import numpy as np

DECIDE_S = 10.0
MAX_HOLD_S = 60.0
# Differences this far below the sum are ordinary stereo; above it, cancellation.
CANCELLED_DB = 10.0
# Below this mean square (-80 dBFS) a stretch holds no signal to judge by.
_SILENT_POWER = 1e-8


class StereoDownmix:
    """Mixes (2, n) float chunks into (1, n) ones, holding the first few until
    the file's mix is chosen."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.cancelled: bool | None = None  # None: not decided yet
        self._held: list[np.ndarray] = []
        self._held_samples = 0
        self._sum_energy = 0.0
        self._diff_energy = 0.0
        self._signal_samples = 0

    def push(self, chunk: np.ndarray) -> list[np.ndarray]:
        """The mixed chunks ready after ``chunk`` (none while deciding)."""
        if self.cancelled is not None:
            return [self._mix(chunk)]
        self._held.append(chunk)
        self._held_samples += chunk.shape[1]
        total = chunk[0] + chunk[1]
        difference = chunk[0] - chunk[1]
        sum_energy = float(np.dot(total, total))
        diff_energy = float(np.dot(difference, difference))
        if sum_energy + diff_energy > _SILENT_POWER * 4 * chunk.shape[1]:
            self._sum_energy += sum_energy
            self._diff_energy += diff_energy
            self._signal_samples += chunk.shape[1]
        enough = self._signal_samples >= DECIDE_S * self.sample_rate
        if enough or self._held_samples >= MAX_HOLD_S * self.sample_rate:
            return self._decide()
        return []

    def finish(self) -> list[np.ndarray]:
        """What is still held, mixed (the file ended before a decision)."""
        return self._decide() if self.cancelled is None else []

    def _decide(self) -> list[np.ndarray]:
        ratio = 10 ** (CANCELLED_DB / 10)
        self.cancelled = self._diff_energy > ratio * self._sum_energy
        held, self._held = self._held, []
        return [self._mix(chunk) for chunk in held]

    def _mix(self, chunk: np.ndarray) -> np.ndarray:
        both = chunk[0] - chunk[1] if self.cancelled else chunk[0] + chunk[1]
        return (both * np.float32(0.5)).reshape(1, -1).astype(np.float32, copy=False)
