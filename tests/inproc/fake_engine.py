"""A fake transcriber (and diarizer) for the in-process test layer.

It keeps the faster-whisper engine's id, stage and output contract but decodes
nothing: it reads the prepared audio's duration and channel count from the WAV
header and returns the text the test set on it, split into one segment per sentence,
with words timed evenly over the audio. A job then completes in milliseconds, so the
tests built on it check HTTP and dialect logic (validation, refusals, response
shapes), never recognition: that is proven end to end by the ``model`` tests.

It is served through ``create_app(..., engine_classes=[FakeTranscriber])`` (the one seam
``dalston.runtime`` documents); a test reaches the instance through the
``InProcess.fake`` fixture attribute and sets ``text``, ``channel_texts`` or
``detected_language`` before it submits; ``error`` fails its tasks with that
message, and a closed ``gate`` holds them (checking for cancellation) until the
test opens it, so running and queued states can be observed without races;
``progress`` is reported by a task before it waits there.

``FakeDiarizer`` keeps the Resemblyzer engine's id and output (its own
``stage_output``): the audio cut into equal turns, speakers alternating, as many as
the request asked for (two by default). It is served only by apps that ask for it
(``running(..., diarize=True)``), since without it a diarize request must be refused.
"""

from __future__ import annotations

import re
import threading
import wave
from pathlib import Path
from typing import Any

from dalston.audio import SAMPLE_RATE
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.faster_whisper.engine import FasterWhisperEngine, _merge_channels
from dalston.engines.resemblyzer_diarize import SPEC as DIARIZE_SPEC
from dalston.engines.resemblyzer_diarize.pipeline import stage_output
from dalston.engines.resemblyzer_diarize.resegment import Turn

DEFAULT_TEXT = "And so my fellow Americans. Ask not what your country can do for you."
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class FakeTranscriber(BatchEngine):
    engine_id = FasterWhisperEngine.engine_id
    stage = FasterWhisperEngine.stage

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        self.reset()

    def reset(self) -> None:
        gate = getattr(self, "gate", None)
        if gate is not None:
            gate.set()  # release tasks a previous test held
        self.gate: threading.Event | None = None
        self.error: str | None = None
        self.text = DEFAULT_TEXT
        # One text per channel of a multichannel request (else ``text`` for each).
        self.channel_texts: list[str] | None = None
        # What "detection" finds when the request names no language.
        self.detected_language = "en"
        # Reported (TaskInput.report_progress) before a held task waits.
        self.progress: float | None = None
        self.tasks: list[TaskInput] = []

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            engine_id=self.engine_id, stage=self.stage, word_timestamps=True
        )

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("transcribe needs prepared audio")
        self.tasks.append(task)
        if self.progress is not None:
            task.report_progress(self.progress)
        while self.gate is not None and not self.gate.wait(0.01):
            task.check_cancelled()
        if self.error is not None:
            raise PermanentEngineError(self.error)
        with wave.open(str(task.audio_path), "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE:
                raise PermanentEngineError("prepared audio is not 16 kHz")
            duration = wav.getnframes() / SAMPLE_RATE
            channels = wav.getnchannels()
        language = task.params.get("language")
        if language in (None, "", "auto"):
            language = self.detected_language
        if not (task.params.get("multichannel") and channels > 1):
            return TaskOutput(data=_result(self.text, duration, str(language), None))
        texts = self.channel_texts or [self.text] * channels
        results = [
            _result(texts[i % len(texts)], duration, str(language), i)
            for i in range(channels)
        ]
        return TaskOutput(data=_merge_channels(results, duration))


def _wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


class FakeDiarizer(BatchEngine):
    engine_id = DIARIZE_SPEC.id
    stage = DIARIZE_SPEC.stage

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(engine_id=self.engine_id, stage=self.stage)

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("diarize needs the prepared audio")
        duration = _wav_duration(task.audio_path)
        count = int(
            task.params.get("num_speakers") or task.params.get("min_speakers") or 2
        )
        step = duration / count
        turns = [Turn(i * step, (i + 1) * step, i) for i in range(count)]
        return TaskOutput(data=stage_output(turns))


def _result(
    text: str, duration: float, language: str, channel: int | None
) -> dict[str, Any]:
    """faster-whisper's result shape: sentences as segments, words timed evenly."""
    sentences = [s for s in _SENTENCE.split(text.strip()) if s]
    count = sum(len(s.split()) for s in sentences) or 1
    step = duration / count
    segments = []
    index = 0
    for number, sentence in enumerate(sentences):
        words = []
        for word in sentence.split():
            start = index * step
            words.append(
                {
                    "text": word,
                    "start": round(start, 3),
                    "end": round(start + step * 0.9, 3),
                    "confidence": 0.9,
                    "channel": channel,
                }
            )
            index += 1
        segments.append(
            {
                "id": number,
                "start": words[0]["start"],
                "end": words[-1]["end"],
                "text": sentence,
                "avg_logprob": -0.1,
                "no_speech_prob": 0.01,
                "compression_ratio": 1.2,
                "temperature": 0.0,
                "tokens": [],
                "seek": 0,
                "channel": channel,
                "words": words,
            }
        )
    return {
        "text": " ".join(sentences),
        "language_code": language,
        "language_probability": 1.0,
        "duration": round(duration, 3),
        "segments": segments,
        "decode_mode": "sequential",
    }
