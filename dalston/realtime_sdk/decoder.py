"""Whisper decoding for streams: one shared model per worker, a bounded pool of
inference threads, so no stream ever runs inference on the event loop."""

from __future__ import annotations

import asyncio
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from dalston.engine_sdk import EngineConfig
from dalston.realtime_sdk.events import WordTiming


@dataclass(frozen=True)
class Decoded:
    text: str
    words: tuple[WordTiming, ...]
    language: str | None
    language_probability: float | None
    avg_logprob: float | None


class ModelPool(Protocol):
    """Loaded Whisper models by id: the faster-whisper engine's pool, handed in by
    the assembly (``dalston.runtime``); this SDK never imports an engine."""

    @property
    def loaded(self) -> list[str]: ...

    def get(self, model_id: str) -> Any: ...


def pool_config(config: EngineConfig, threads: int) -> EngineConfig:
    """The engine settings of a pool serving ``threads`` decode threads: each
    thread needs its own CTranslate2 worker, or concurrent streams queue on one,
    and the cores are shared out between them."""
    cores = os.cpu_count() or 1
    return replace(
        config,
        concurrency=threads,
        cpu_threads=config.cpu_threads or max(1, cores // threads),
    )


class StreamDecoder:
    def __init__(
        self,
        models: ModelPool,
        *,
        threads: int = 2,
        beam_size: int = 1,
    ) -> None:
        self.models = models
        self.beam_size = beam_size
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="dalston-rt")

    def load(self, model_id: str) -> None:
        self.models.get(model_id)

    async def decode(
        self,
        audio: np.ndarray,
        *,
        model_id: str,
        language: str | None,
        prompt: str | None,
        hotwords: str | None,
        word_timestamps: bool,
    ) -> Decoded:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool,
            self._decode,
            audio,
            model_id,
            language,
            prompt,
            hotwords,
            word_timestamps,
        )

    def _decode(
        self,
        audio: np.ndarray,
        model_id: str,
        language: str | None,
        prompt: str | None,
        hotwords: str | None,
        word_timestamps: bool,
    ) -> Decoded:
        model = self.models.get(model_id)
        segments, info = model.transcribe(
            audio,
            language=language,
            beam_size=self.beam_size,
            # Streams are already cut by VAD; a partial must not re-run it.
            vad_filter=False,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            hotwords=hotwords,
            word_timestamps=word_timestamps,
            without_timestamps=not word_timestamps,
            temperature=0.0,
        )
        texts: list[str] = []
        words: list[WordTiming] = []
        logprobs: list[float] = []
        for segment in segments:
            if segment.no_speech_prob > 0.8 and segment.avg_logprob < -1.0:
                continue  # Whisper's usual guard against hallucinated text in noise
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
            for w in segment.words or []:
                if w.word.strip():
                    words.append(
                        WordTiming(w.word.strip(), w.start, w.end, w.probability)
                    )
        return Decoded(
            text=" ".join(t for t in texts if t),
            words=tuple(words),
            language=info.language,
            language_probability=info.language_probability,
            avg_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def confidence(avg_logprob: float | None) -> float | None:
    return None if avg_logprob is None else round(math.exp(avg_logprob), 4)
