"""``audio-redact``: the original upload with each PII span silenced or beeped.

Decodes at the source's own sample rate and channel count (no resampling, so
every sample outside the spans is kept as decoded) and writes 16-bit PCM WAV.
Streams frame by frame: memory stays flat however long the recording.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from dalston.audio import iter_pcm16
from dalston.engine_sdk import (
    BatchEngine,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.audio_redact import SPEC
from dalston.engines.audio_redact.spans import Span, merge_spans
from dalston.errors import DalstonError
from dalston.pii import AUDIO_REDACTION_MODES, DEFAULT_AUDIO_REDACTION_MODE

REDACTED_AUDIO = "audio/redacted.wav"
BEEP_HZ = 1000.0
BEEP_AMPLITUDE = 0.2  # of full scale: clearly audible, well clear of clipping


class AudioRedactEngine(BatchEngine):
    spec = SPEC

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("redact needs the original audio")
        mode = str(task.params.get("pii_redaction_mode") or "")
        mode = mode or DEFAULT_AUDIO_REDACTION_MODE
        if mode not in AUDIO_REDACTION_MODES:
            raise PermanentEngineError(
                f"pii_redaction_mode must be one of {', '.join(AUDIO_REDACTION_MODES)}"
                f", not {mode!r}"
            )
        found = task.inputs.get("pii") or {}
        spans = merge_spans(found.get("entities") or [])
        out = task.work_dir / "redacted.wav"
        try:
            sample_rate, channels, frames = _redact(task, out, spans, mode)
        except DalstonError as exc:
            raise PermanentEngineError(exc.message) from exc
        duration = frames / sample_rate
        kept = [
            {"start": s.start, "end": min(s.end, duration)}
            for s in spans
            if s.start < duration
        ]
        return TaskOutput(
            data={
                "audio_key": REDACTED_AUDIO,
                "mode": mode,
                "spans": kept,
                "sample_rate": sample_rate,
                "channels": channels,
            },
            files={REDACTED_AUDIO: out},
        )


def _redact(
    task: TaskInput, out: Path, spans: list[Span], mode: str
) -> tuple[int, int, int]:
    """Write the redacted WAV; return its sample rate, channels and frame count."""
    assert task.audio_path is not None
    writer: wave.Wave_write | None = None
    ranges: list[tuple[int, int]] = []
    sample_rate = channels = offset = 0
    pending = 0  # index of the first span not yet wholly behind ``offset``
    try:
        for chunk in iter_pcm16(task.audio_path):
            task.check_cancelled()
            samples = chunk.samples
            if writer is None:
                sample_rate, channels = chunk.sample_rate, samples.shape[0]
                ranges = [s.samples(sample_rate) for s in spans]
                writer = wave.open(str(out), "wb")
                writer.setnchannels(channels)
                writer.setsampwidth(2)
                writer.setframerate(sample_rate)
            count = samples.shape[1]
            while pending < len(ranges) and ranges[pending][1] <= offset:
                pending += 1
            for first, stop in ranges[pending:]:
                if first >= offset + count:
                    break
                a, b = max(first, offset), min(stop, offset + count)
                if a < b:
                    samples[:, a - offset : b - offset] = _fill(
                        mode, first, a, b, sample_rate
                    )
            # WAV interleaves channels: frame-major order.
            writer.writeframes(samples.T.astype("<i2").tobytes())
            offset += count
    finally:
        if writer is not None:
            writer.close()
    return sample_rate, channels, offset


def _fill(mode: str, first: int, a: int, b: int, sample_rate: int) -> np.ndarray:
    """Samples ``a``..``b`` of a span starting at sample ``first``: zeros, or a sine
    whose phase starts at 0 at the span's start (continuous across chunks)."""
    if mode == "silence":
        return np.zeros(b - a, dtype=np.int16)
    t = (np.arange(a, b) - first) / sample_rate
    tone = BEEP_AMPLITUDE * 32767.0 * np.sin(2.0 * np.pi * BEEP_HZ * t)
    return np.rint(tone).astype(np.int16)
