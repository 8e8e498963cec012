"""``pocketsphinx-align``: retime Whisper's words by forced alignment.

Whisper's word times come from cross-attention and are coarse (a first word often
starts at 0.00, ends drift by a few hundred ms). Knowing the words, pocketsphinx's
en-us acoustic model finds where each one is spoken, to the 10 ms frame (see
``retime.py`` for the windows). Anything that cannot be aligned keeps Whisper's
times and adds a warning: alignment refines a transcript and never fails a job.
"""

from __future__ import annotations

import copy
import os
import threading
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dalston.audio import WavReader
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.pocketsphinx_align import SPEC
from dalston.engines.pocketsphinx_align.aligner import DecoderPool
from dalston.engines.pocketsphinx_align.retime import retime_track


class PocketsphinxAlignEngine(BatchEngine):
    spec = SPEC

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        # Each task aligns up to this many stretches of its audio side by side.
        self.parallel = align_processes(config)
        # Decoders are built in child processes on first use, not here or at
        # import (see aligner.py): one per stretch aligned at once.
        self._pool = DecoderPool(max(self.task_slots(), self.parallel))

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            engine_id=self.engine_id,
            stage=self.stage,
            languages=("en",),
            word_timestamps=True,
        )

    def load(self) -> None:
        self._pool.warm()

    def close(self) -> None:
        self._pool.close()

    def work_ahead(self, task: TaskInput, partial: Mapping[str, Any]) -> None:
        """Align the stretches of the transcript so far that can no longer
        change (all but the last of each channel), while the rest is being
        transcribed; ``process`` takes them as they are."""
        if task.audio_path is None or not _is_english(partial.get("language_code")):
            return
        transcript = copy.deepcopy(dict(partial))
        try:
            audio = WavReader(task.audio_path)
        except (OSError, EOFError, ValueError, wave.Error):
            return  # process says so
        with audio:
            self._align(task, transcript, audio, open_end=True)

    def process(self, task: TaskInput) -> TaskOutput:
        source = task.inputs.get("transcribe")
        if not isinstance(source, Mapping):
            raise PermanentEngineError("align needs the transcribe stage's output")
        transcript = copy.deepcopy(dict(source))
        segments: list[dict[str, Any]] = transcript.get("segments") or []
        total = sum(len(s.get("words") or ()) for s in segments)
        language = transcript.get("language_code")
        if not _is_english(language):
            warning = (
                f"language {language!r} is not English: pocketsphinx-align has an "
                "English model only, so word times are Whisper's"
            )
            transcript["alignment"] = _summary("whisper", 0, total, [warning])
            return TaskOutput(data=transcript)
        if task.audio_path is None:
            raise PermanentEngineError("align needs the prepared audio")
        try:
            audio = WavReader(task.audio_path)
        except (OSError, EOFError, ValueError, wave.Error) as exc:
            # The prepare stage wrote this file: unreadable means a broken job.
            raise PermanentEngineError(
                f"cannot read the prepared audio: {exc}"
            ) from exc
        with audio:
            aligned, warnings = self._align(task, transcript, audio)
        transcript["alignment"] = _summary("pocketsphinx", aligned, total, warnings)
        return TaskOutput(data=transcript)

    def _align(
        self,
        task: TaskInput,
        transcript: dict[str, Any],
        audio: WavReader,
        open_end: bool = False,
    ) -> tuple[int, list[str]]:
        """Align each channel's segments against its own samples (the mono mix
        for segments without a channel); the words aligned and the warnings.
        Stretches aligned ahead (``work_ahead``) are taken from ``task.ahead``
        and the new ones kept there; ``open_end``: the transcript so far."""
        by_channel: dict[int | None, list[dict[str, Any]]] = {}
        for segment in transcript.get("segments") or ():
            if segment.get("words"):  # None: timestamps not requested
                by_channel.setdefault(segment.get("channel"), []).append(segment)
        languages = {
            c.get("channel_index"): c.get("language_code")
            for c in transcript.get("channels") or ()
        }
        aligned, warnings = 0, []
        for channel, segments in by_channel.items():
            language = languages.get(channel)
            if not _is_english(language):
                warnings.append(
                    f"channel {channel} is in {language!r}, not English: "
                    "kept Whisper's word times"
                )
                continue
            # Its own channel, or the mono mix; read span by span.
            own = channel is not None and 0 <= channel < audio.channels
            track = _FileTrack(audio, channel if own else None)
            segments.sort(key=lambda s: (s["start"], s.get("id", 0)))
            result = retime_track(
                self._pool,
                segments,
                track,
                task.check_cancelled,
                parallel=self.parallel,
                known=task.ahead.setdefault("stretches", {}),
                open_end=open_end,
            )
            aligned += result.aligned_words
            warnings.extend(
                f"segment {segment_id}: no alignment found; kept Whisper's times"
                for segment_id in result.failed_segments
            )
        return aligned, warnings


# Aligner processes per task at most: each holds a decoder (~60 MB resident).
MAX_PROCESSES = 4


def align_processes(config: EngineConfig) -> int:
    """Stretches of one recording aligned at once: the CPU threads setting when
    given, else one per two cores (the others transcribe the next job: on two
    cores a second aligner would speed one long job's alignment, 7.2 -> 4.0 s on
    605 s, not the server's throughput, for ~60 MB more), at most
    ``MAX_PROCESSES``."""
    wanted = config.cpu_threads or (os.cpu_count() or 1) // 2
    return max(1, min(wanted, MAX_PROCESSES))


@dataclass(frozen=True)
class _FileTrack:
    """One channel (or the mix, ``None``) of the prepared audio file; read from
    several threads (one file position, so one read at a time)."""

    wav: WavReader
    channel: int | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def duration(self) -> float:
        return self.wav.duration

    def read(self, start: int, end: int) -> np.ndarray:
        with self.lock:
            return self.wav.read(start, end, self.channel)


def _is_english(language: object) -> bool:
    return language is None or str(language).lower().split("-")[0] == "en"


def _summary(
    method: str, aligned: int, total: int, warnings: list[str]
) -> dict[str, Any]:
    return {
        "method": method,
        "aligned_words": aligned,
        "total_words": total,
        "warnings": warnings,
    }
