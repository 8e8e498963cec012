"""``resemblyzer-diarize``: who spoke when, offline on CPU.

Resemblyzer ships its d-vector weights in the wheel, so this backend needs no
token and no network. See ``pipeline`` for the steps and ``options`` for how the
request's speaker count and ``diarization_threshold`` steer them.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dalston.audio import MonoSource, Samples, WavReader, decode_to_mono
from dalston.engine_sdk import (
    BatchEngine,
    EngineConfig,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.resemblyzer_diarize import SPEC
from dalston.engines.resemblyzer_diarize.embeddings import SpeakerEncoder
from dalston.engines.resemblyzer_diarize.options import DiarizeOptions
from dalston.engines.resemblyzer_diarize.pipeline import diarize
from dalston.errors import DalstonError


class ResemblyzerDiarizeEngine(BatchEngine):
    spec = SPEC

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        # Loaded on the first task, not at start: importing torch takes seconds.
        self.encoder = SpeakerEncoder(threads=config.cpu_threads or 1)

    def warm_up(self) -> None:
        """Load the encoder now (benchmarks time tasks without the load)."""
        self.encoder.load()

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("diarize needs the prepared audio")
        options = DiarizeOptions.from_params(task.params)
        with _mono(task.audio_path) as source:
            task.check_cancelled()
            output = diarize(source, options, self.encoder, task.check_cancelled)
        return TaskOutput(data=output)


@contextmanager
def _mono(path: Path) -> Iterator[MonoSource]:
    """The prepared WAV read span by span (channels mixed if it kept several)."""
    try:
        reader = WavReader(path)
    except (ValueError, EOFError, OSError, wave.Error):
        # Not the prepared format (a direct caller's file): decode it as prepare does.
        try:
            mono, _ = decode_to_mono(path)
        except DalstonError as exc:
            raise PermanentEngineError(exc.message) from exc
        yield Samples(mono)
        return
    with reader:
        yield reader
