"""Whisper decoding for streams: one shared model per worker, a bounded pool of
inference threads, so no stream ever runs inference on the event loop."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import partial
from typing import Any, Protocol

import numpy as np
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

from dalston.engine_sdk import EngineConfig
from dalston.engine_sdk.priority import RealtimeGate
from dalston.realtime_sdk.events import WordTiming

# Capacity ('auto'): how often a stream brings an utterance to decode (speech
# with pauses: a final every few seconds), and the share of the decode threads
# kept busy (above it, finals start to queue behind each other).
UTTERANCE_EVERY_S = 3.0
TARGET_UTILIZATION = 0.6

# Partials see a shorter encoder window than Whisper's 30 s: the encoder's cost
# grows faster than its input (tiny.en on one core: 0.06 s at 10 s, 0.12 s at
# 20 s, 0.3 s at 30 s), and a partial is interim text that the final replaces.
# On corpus speech, a 10 s window agreed with the full one within 2-10 % WER
# from 2.5 s of audio (prefixes under 1.5 s are unstable in either).
# The window is the audio plus this much silence, at least the minimum.
PARTIAL_WINDOW_MIN_S = 10.0
PARTIAL_WINDOW_MARGIN_S = 5.0
# A window shorter than Whisper's can make it repeat itself: new tokens are
# capped by the audio's length, and text that compresses like a loop is dropped.
PARTIAL_TOKENS_PER_S = 6.0
LOOP_COMPRESSION_RATIO = 2.4


def hallucinated(no_speech_prob: float, avg_logprob: float) -> bool:
    """Whisper's usual guard against text invented in noise: it thinks there is
    no speech, and is unsure of what it wrote."""
    return no_speech_prob > 0.8 and avg_logprob < -1.0


def partial_window_frames(samples: int, *, rate: int = 16000) -> int:
    """Mel frames (10 ms each) of the encoder window a partial of ``samples``
    audio samples is decoded in: the audio plus a margin, at least
    ``PARTIAL_WINDOW_MIN_S``, at most Whisper's 30 s."""
    seconds = max(samples / rate + PARTIAL_WINDOW_MARGIN_S, PARTIAL_WINDOW_MIN_S)
    return min(3000, 2 * math.ceil(seconds * 50))


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


class Priority(IntEnum):
    """What a decode is for; lower goes first when the threads are busy."""

    FINAL = 0  # a decided utterance: someone waits for it
    SPECULATIVE = 1  # a final decoded early, in the VAD's confirming silence
    PARTIAL = 2  # interim text: worth less the later it comes


class Skipped(Exception):
    """A partial not decoded: it waited longer than it is worth (finals, or
    other sessions' decodes, held every thread). The session simply skips it."""


@dataclass(order=True)
class _Waiting:
    priority: int
    seq: int
    queued_at: float = field(compare=False)
    future: asyncio.Future[Decoded] = field(compare=False)
    call: Callable[[], Decoded] = field(compare=False)


class StreamDecoder:
    """Decodes for every session of a worker, on ``threads`` inference threads:
    finals before speculative finals before partials, first come first served
    within each; a partial that waited more than ``partial_max_wait_s`` for a
    thread is skipped (``Skipped``) rather than delaying what comes after it,
    so the cost of many streams shows as fewer partials, not late finals."""

    def __init__(
        self,
        models: ModelPool,
        *,
        threads: int = 2,
        beam_size: int = 1,
        partial_max_wait_s: float = 0.25,
        short_partials: bool = True,
        gate: RealtimeGate | None = None,
    ) -> None:
        """``short_partials``: partials are decoded in a window fitted to their
        audio (``partial_window_frames``), not Whisper's full 30 s."""
        self.models = models
        self.short_partials = short_partials
        # Batch engines of this process wait at their checkpoints while it decodes.
        self.gate = gate
        self.beam_size = beam_size
        self.partial_max_wait_s = partial_max_wait_s
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="dalston-rt")
        self._waiting: list[_Waiting] = []
        self._running = 0
        self._seq = itertools.count()
        self.skipped_partials = 0

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
        priority: Priority = Priority.FINAL,
    ) -> Decoded:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decoded] = loop.create_future()
        decode = (
            self._decode_partial
            if priority == Priority.PARTIAL
            and self.short_partials
            and not word_timestamps
            else self._decode
        )
        call = partial(
            decode, audio, model_id, language, prompt, hotwords, word_timestamps
        )
        with self.gate.busy() if self.gate is not None else nullcontext():
            heapq.heappush(
                self._waiting,
                _Waiting(int(priority), next(self._seq), loop.time(), future, call),
            )
            self._dispatch(loop)
            return await future

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the most urgent waiting decodes while threads are free."""
        while self._running < self._threads and self._waiting:
            item = heapq.heappop(self._waiting)
            if item.future.done():  # its session went away meanwhile
                continue
            waited = loop.time() - item.queued_at
            if item.priority == Priority.PARTIAL and waited > self.partial_max_wait_s:
                self.skipped_partials += 1
                item.future.set_exception(Skipped())
                continue
            self._running += 1
            running = loop.run_in_executor(self._pool, item.call)
            running.add_done_callback(partial(self._finished, loop, item.future))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Decoded],
        running: asyncio.Future[Decoded],
    ) -> None:
        self._running -= 1
        if not future.done():
            if running.cancelled():
                future.cancel()
            elif (error := running.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(running.result())
        self._dispatch(loop)

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
            if hallucinated(segment.no_speech_prob, segment.avg_logprob):
                continue
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

    def _decode_partial(
        self,
        audio: np.ndarray,
        model_id: str,
        language: str | None,
        prompt: str | None,
        hotwords: str | None,
        word_timestamps: bool,
    ) -> Decoded:
        """Greedy text of ``audio`` from a window fitted to it (see
        ``partial_window_frames``); with Whisper's own prompt, hotwords and
        no-speech guard. A multilingual model with no language yet decodes the
        ordinary way (detection is Whisper's, on its full window), and so does
        audio within ``PARTIAL_WINDOW_MARGIN_S`` of 30 s or longer."""
        model = self.models.get(model_id)
        multilingual = bool(model.model.is_multilingual)
        frames = partial_window_frames(len(audio))
        if (multilingual and language is None) or frames >= 3000:
            # No language yet, or audio as long as Whisper's window (manual
            # commits): the ordinary decode, which also reads past 30 s.
            return self._decode(
                audio, model_id, language, prompt, hotwords, word_timestamps
            )
        tokenizer = Tokenizer(
            model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=language if multilingual else "en",
        )
        features = model.feature_extractor(audio)
        features = pad_or_trim(features, frames)
        encoded = model.encode(features)
        previous = tokenizer.encode(" " + prompt.strip()) if prompt else []
        tokens = model.get_prompt(
            tokenizer, previous, without_timestamps=True, hotwords=hotwords
        )
        budget = math.ceil(len(audio) / 16000 * PARTIAL_TOKENS_PER_S) + 4
        result = model.model.generate(
            encoded,
            [tokens],
            beam_size=1,
            max_length=min(len(tokens) + budget, model.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = tokenizer.decode(ids).strip()
        length = len(result.sequences_ids[0])
        avg_logprob = float(result.scores[0]) * length / (length + 1)  # as Whisper's
        if hallucinated(result.no_speech_prob, avg_logprob) or (
            text and get_compression_ratio(text) > LOOP_COMPRESSION_RATIO
        ):
            text = ""
        return Decoded(
            text=text,
            words=(),
            language=language if multilingual else "en",
            language_probability=None,
            avg_logprob=avg_logprob if text else None,
        )

    def capacity_for(
        self,
        model_id: str,
        *,
        utterance_every_s: float = UTTERANCE_EVERY_S,
        utilization: float = TARGET_UTILIZATION,
    ) -> int:
        """How many streams these threads serve at the latency target.

        Every stream needs about one final decode per utterance (partials are
        skipped under load, so they do not count); a decode's cost is timed here
        (the best of three, on a few seconds of quiet noise, after a warm-up).
        Kept below ``utilization`` of the threads, queueing stays short: finals
        wait a fraction of a decode, not a queue of them."""
        rng = np.random.default_rng(0)
        audio = (rng.standard_normal(3 * 16000) * 0.01).astype(np.float32)
        call = partial(self._decode, audio, model_id, None, None, None, False)
        call()  # warm-up: first-call allocations are not the steady cost
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
        per_stream = min(seconds) / utterance_every_s  # threads busy per stream
        return max(1, min(256, int(self._threads * utilization / per_stream)))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def confidence(avg_logprob: float | None) -> float | None:
    return None if avg_logprob is None else round(math.exp(avg_logprob), 4)
