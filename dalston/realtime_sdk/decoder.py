"""Whisper decoding for streams: one shared model per worker, a bounded pool of
inference threads, so no stream ever runs inference on the event loop."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
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

from dalston import telemetry
from dalston.engine_sdk import EngineConfig
from dalston.engine_sdk.priority import RealtimeGate
from dalston.realtime_sdk.events import WordTiming

log = logging.getLogger(__name__)

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
WHISPER_WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames
PARTIAL_WINDOW_MIN_S = 10.0
PARTIAL_WINDOW_MARGIN_S = 5.0
# A window shorter than Whisper's can make it repeat itself: new tokens are
# capped by the audio's length, and text that compresses like a loop is dropped.
PARTIAL_TOKENS_PER_S = 6.0
LOOP_COMPRESSION_RATIO = 2.4
# A partial's prompt keeps the last this many tokens of the session's text:
# context enough for interim text, and prompts of one length, so the partials
# of several sessions can be decoded as one batch (CTranslate2 batches prompts
# of one shape only).
PARTIAL_PROMPT_TOKENS = 32


def hallucinated(no_speech_prob: float, avg_logprob: float) -> bool:
    """Whisper's usual guard against text invented in noise: it thinks there is
    no speech, and is unsure of what it wrote."""
    return no_speech_prob > 0.8 and avg_logprob < -1.0


def partial_window_frames(samples: int, *, rate: int = 16000) -> int:
    """Mel frames (10 ms each) of the encoder window a partial of ``samples``
    audio samples is decoded in: the audio plus a margin, at least
    ``PARTIAL_WINDOW_MIN_S``, at most Whisper's 30 s."""
    seconds = max(samples / rate + PARTIAL_WINDOW_MARGIN_S, PARTIAL_WINDOW_MIN_S)
    return min(WHISPER_WINDOW_FRAMES, 2 * math.ceil(seconds * 50))


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


@dataclass(frozen=True)
class _Partial:
    """What a short-window partial decodes: its audio and its session's prompt."""

    audio: np.ndarray
    prompt: str | None
    hotwords: str | None


@dataclass(order=True)
class _Waiting:
    priority: int
    seq: int
    queued_at: float = field(compare=False)
    future: asyncio.Future[Decoded] = field(compare=False)
    call: Callable[[], Sequence[Decoded | Exception]] = field(compare=False)
    # A short-window partial: what it decodes, and with what it can be batched
    # (the same model and language).
    partial: _Partial | None = field(default=None, compare=False)
    batch_key: tuple[str, str | None] | None = field(default=None, compare=False)


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
        batch_size: int = 1,
        gate: RealtimeGate | None = None,
    ) -> None:
        """``short_partials``: partials are decoded in a window fitted to their
        audio (``partial_window_frames``), not Whisper's full 30 s;
        ``batch_size``: up to this many short-window partials of different
        sessions that wait together are decoded as one batch (one encoder call:
        a gain on a GPU, not on CPU cores, see ``pick_stream_batch_size``)."""
        self.models = models
        self.short_partials = short_partials
        self.batch_size = batch_size
        self.batches = 0  # decodes that served more than one partial
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
        seq = next(self._seq)
        if priority == Priority.PARTIAL and self.short_partials and not word_timestamps:
            short = _Partial(audio, prompt, hotwords)
            call = partial(self._decode_partials, model_id, language, [short])
            item = _Waiting(
                int(priority),
                seq,
                loop.time(),
                future,
                call,
                partial=short,
                # Batched: a short window in a known language. The others decode
                # the ordinary way (language detection, or audio as long as
                # Whisper's window), each on its own thread.
                batch_key=(model_id, language)
                if language is not None
                and partial_window_frames(len(audio)) < WHISPER_WINDOW_FRAMES
                else None,
            )
        else:
            call = partial(
                _listed,
                partial(
                    self._decode,
                    audio,
                    model_id,
                    language,
                    prompt,
                    hotwords,
                    word_timestamps,
                ),
            )
            item = _Waiting(int(priority), seq, loop.time(), future, call)
        with self.gate.busy() if self.gate is not None else nullcontext():
            heapq.heappush(self._waiting, item)
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
            if self._expired(loop, item):
                continue
            items = [item, *self._batch_mates(loop, item)]
            telemetry.REALTIME_DECODE_BATCH.observe(len(items))
            if len(items) > 1:
                self.batches += 1
                assert item.batch_key is not None
                model_id, language = item.batch_key
                call: Callable[[], Sequence[Decoded | Exception]] = partial(
                    self._decode_batch,
                    model_id,
                    language,
                    [i.partial for i in items if i.partial is not None],
                )
            else:
                call = item.call
            self._running += 1
            running = loop.run_in_executor(self._pool, call)
            running.add_done_callback(
                partial(self._finished, loop, [i.future for i in items])
            )

    def _expired(self, loop: asyncio.AbstractEventLoop, item: _Waiting) -> bool:
        """A partial that waited longer than it is worth: skipped."""
        waited = loop.time() - item.queued_at
        if item.priority == Priority.PARTIAL and waited > self.partial_max_wait_s:
            self.skipped_partials += 1
            telemetry.REALTIME_SKIPPED_PARTIALS.inc()
            item.future.set_exception(Skipped())
            return True
        return False

    def _batch_mates(
        self, loop: asyncio.AbstractEventLoop, item: _Waiting
    ) -> list[_Waiting]:
        """Waiting partials that can be decoded in one batch with ``item``,
        oldest first, up to ``batch_size`` in all; taken off the queue."""
        if self.batch_size <= 1 or item.batch_key is None:
            return []
        mates: list[_Waiting] = []
        taken: set[int] = set()
        for other in sorted(self._waiting):
            if len(mates) + 1 >= self.batch_size:
                break
            if other.batch_key != item.batch_key:
                continue
            taken.add(id(other))
            if not other.future.done() and not self._expired(loop, other):
                mates.append(other)
        if taken:
            self._waiting = [w for w in self._waiting if id(w) not in taken]
            heapq.heapify(self._waiting)
        return mates

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        futures: list[asyncio.Future[Decoded]],
        running: asyncio.Future[Sequence[Decoded | Exception]],
    ) -> None:
        self._running -= 1
        for index, future in enumerate(futures):
            if future.done():
                continue
            if running.cancelled():
                future.cancel()
            elif (error := running.exception()) is not None:
                future.set_exception(error)
            elif isinstance(result := running.result()[index], Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._dispatch(loop)

    def _decode_batch(
        self, model_id: str, language: str | None, partials: list[_Partial]
    ) -> list[Decoded | Exception]:
        """Partials of several sessions together; should the batch fail, each is
        decoded alone, so one session's failure stays its own."""
        try:
            return list(self._decode_partials(model_id, language, partials))
        except Exception:
            log.warning("a batch of %d partials failed; decoding each", len(partials))
        results: list[Decoded | Exception] = []
        for one in partials:
            try:
                results.append(self._decode_partials(model_id, language, [one])[0])
            except Exception as exc:
                results.append(exc)
        return results

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
        return self._decode_partials(
            model_id, language, [_Partial(audio, prompt, hotwords)]
        )[0]

    def _decode_partials(
        self, model_id: str, language: str | None, partials: list[_Partial]
    ) -> list[Decoded]:
        """``_decode_partial`` for several partials of one model and language
        (other sessions' decodes that waited together): those whose prompts line
        up (CTranslate2 batches prompts of one shape only) share one encoder
        call and one ``generate``, in a window as long as the longest needs."""
        model = self.models.get(model_id)
        multilingual = bool(model.model.is_multilingual)
        results: list[Decoded | None] = [None] * len(partials)
        if multilingual and language is None:
            # No language yet: Whisper's detection, on its full window.
            return [
                self._decode(p.audio, model_id, None, p.prompt, p.hotwords, False)
                for p in partials
            ]
        tokenizer = Tokenizer(
            model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=language if multilingual else "en",
        )
        groups: dict[tuple[int, int], list[tuple[int, list[int]]]] = {}
        for index, p in enumerate(partials):
            if partial_window_frames(len(p.audio)) >= WHISPER_WINDOW_FRAMES:
                # As long as Whisper's window (manual commits): the ordinary
                # decode, which also reads past 30 s.
                results[index] = self._decode(
                    p.audio, model_id, language, p.prompt, p.hotwords, False
                )
                continue
            previous = tokenizer.encode(" " + p.prompt.strip()) if p.prompt else []
            tokens = model.get_prompt(
                tokenizer,
                previous[-PARTIAL_PROMPT_TOKENS:],
                without_timestamps=True,
                hotwords=p.hotwords,
            )
            shape = (tokens.index(tokenizer.sot), len(tokens))
            groups.setdefault(shape, []).append((index, tokens))
        for members in groups.values():
            decoded = self._generate_partials(
                model,
                tokenizer,
                [partials[i].audio for i, _ in members],
                [tokens for _, tokens in members],
            )
            for (index, _), result in zip(members, decoded, strict=True):
                results[index] = replace(
                    result, language=language if multilingual else "en"
                )
        done = [r for r in results if r is not None]
        # One result per partial, in order: the callers' futures are matched by
        # position, so a partial left out must fail loudly, not shift the rest.
        assert len(done) == len(partials)
        return done

    def _generate_partials(
        self,
        model: Any,
        tokenizer: Tokenizer,
        audios: list[np.ndarray],
        prompts: list[list[int]],
    ) -> list[Decoded]:
        frames = max(partial_window_frames(len(a)) for a in audios)
        features = np.stack(
            [pad_or_trim(model.feature_extractor(a), frames) for a in audios]
        )
        encoded = model.encode(features)
        budgets = [math.ceil(len(a) / 16000 * PARTIAL_TOKENS_PER_S) + 4 for a in audios]
        length = len(prompts[0])
        generated = model.model.generate(
            encoded,
            prompts,
            beam_size=1,
            max_length=min(length + max(budgets), model.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
        )
        decoded: list[Decoded] = []
        for result, budget in zip(generated, budgets, strict=True):
            # Greedy: cutting a longer run at this partial's own budget gives
            # what decoding it alone would have.
            sequence = list(result.sequences_ids[0])
            cut = sequence[:budget]
            ids = [t for t in cut if t < tokenizer.eot]
            text = tokenizer.decode(ids).strip()
            # Whisper's average log-probability (of the whole run when cut:
            # close enough for a guard on interim text).
            n = len(cut)
            avg_logprob = float(result.scores[0]) * n / (n + 1)
            if hallucinated(result.no_speech_prob, avg_logprob) or (
                text and get_compression_ratio(text) > LOOP_COMPRESSION_RATIO
            ):
                text = ""
            decoded.append(
                Decoded(
                    text=text,
                    words=(),
                    language=None,
                    language_probability=None,
                    avg_logprob=avg_logprob if text else None,
                )
            )
        return decoded

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


def _listed(call: Callable[[], Decoded]) -> list[Decoded]:
    return [call()]


def confidence(avg_logprob: float | None) -> float | None:
    return None if avg_logprob is None else round(math.exp(avg_logprob), 4)
