"""One live transcription stream: audio in, VAD, partials, finals out.

The socket handler pushes audio and control messages; ``run()`` consumes them in
order on the session's own task and puts events on ``events``. Inference runs in the
decoder's thread pool, so a slow stream only delays itself: its backlog (``lag_s``)
grows, a warning goes out, and past ``max_lag_s`` the session is ended.

A stream with no language detects it once: the first final whose detection is
confident (``_DETECTION_MIN_P``) fixes the language of every later decode, and
their finals report that detection's probability. Whisper detects from the
first 30 s window it is given; on a short later utterance that guess is
unreliable (a Spanish clause heard as Portuguese), and a stream mostly keeps
its language.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

import numpy as np

from dalston import telemetry
from dalston.realtime_sdk.audio import TARGET_RATE, AudioDecoder, AudioFormat
from dalston.realtime_sdk.decoder import (
    Decoded,
    Priority,
    Skipped,
    StreamDecoder,
    confidence,
)
from dalston.realtime_sdk.events import (
    Event,
    Final,
    LagWarning,
    Partial,
    SpeechEnded,
    SpeechStarted,
)
from dalston.realtime_sdk.stable import StablePrefix
from dalston.realtime_sdk.vad import WINDOW, StreamingVad

_PREROLL_S = 0.4  # audio kept before the VAD's speech onset (soft first words)
_TAIL_S = 0.15  # audio kept after the last speech window
_CONTEXT_CHARS = 200  # previous text given to Whisper as prompt
_DETECTION_MIN_P = 0.5  # a detection this sure fixes the stream's language
_MAX_BACKOFF = 4.0  # partials at most every 4 x partial_interval_s when busy


class CommitStrategy(StrEnum):
    VAD = "vad"
    MANUAL = "manual"


@dataclass(frozen=True)
class SessionConfig:
    model: str
    language: str | None = None
    audio: AudioFormat = field(default_factory=AudioFormat)
    commit_strategy: CommitStrategy = CommitStrategy.VAD
    vad_threshold: float = 0.5
    silence_s: float = 0.5
    min_speech_s: float = 0.1
    interim_results: bool = True
    word_timestamps: bool = False
    vocabulary: tuple[str, ...] = ()
    previous_text: str | None = None
    partial_interval_s: float = 0.5
    # Until an utterance has shown text, partials are tried this often: the first
    # words appear sooner, and later partials keep the cheaper cadence.
    first_partial_s: float = 0.25
    max_utterance_s: float = 25.0
    lag_warning_s: float = 2.0
    max_lag_s: float = 10.0


class LagExceeded(Exception):
    def __init__(self, lag_s: float) -> None:
        super().__init__(f"processing fell {lag_s:.1f} s behind the audio")
        self.lag_s = lag_s


class _Control(StrEnum):
    COMMIT = "commit"
    CLEAR = "clear"
    END = "end"


class StreamingSession:
    def __init__(
        self,
        config: SessionConfig,
        decoder: StreamDecoder,
        session_id: str | None = None,
    ) -> None:
        self.id = session_id or str(uuid.uuid4())
        self.config = config
        self.decoder = decoder
        # None marks the end of the stream for whoever forwards events.
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        # Called with each decoded 16 kHz chunk (to keep the audio when asked).
        self.recorder: Callable[[np.ndarray], None] | None = None
        self.finals: list[Final] = []
        self._inbox: asyncio.Queue[tuple[np.ndarray, float] | _Control] = (
            asyncio.Queue()
        )
        self._audio_decoder = AudioDecoder(config.audio)
        self._vad = StreamingVad()
        self._stable = StablePrefix()
        # Samples since the last commit; ``_base`` is the session position of [0].
        self._audio = np.zeros(0, dtype=np.float32)
        self._base = 0
        self._vad_pos = 0  # session sample position the VAD has reached
        self._received = 0  # session samples received
        self._partial_sent = False  # the first partial's latency is measured
        self._arrivals: list[tuple[int, float]] = []  # (sample position, wall time)
        self._in_speech = False
        self._speech_start = 0
        self._first_onset = 0  # where the first speech since the last commit began
        self._speech_run = 0
        self._silence_run = 0
        self._heard_speech = False
        self._last_partial = 0
        self._last_partial_text = ""
        self._warned_at = -1e9
        self._ended = False
        self._generation = 0  # bumped at each utterance boundary
        self._partial_task: asyncio.Task[None] | None = None
        # Partial cadence multiplier: doubled when the shared decoder skips one.
        self._partial_backoff = 1.0
        # A final decoded ahead, from the first quiet window on: (start, end, task).
        self._speculative: tuple[int, int, asyncio.Task[Decoded]] | None = None
        # (language, probability) detected on this stream; see the docstring.
        self._detected: tuple[str, float] | None = None

    # --- input, from the socket handler ------------------------------------------
    @property
    def received_s(self) -> float:
        return self._received / TARGET_RATE

    @property
    def lag_s(self) -> float:
        return (self._received - self._vad_pos) / TARGET_RATE

    def push_audio(self, data: bytes) -> None:
        """Queue a chunk; raises LagExceeded when the stream is too far behind."""
        samples = self._audio_decoder.decode(data)
        if not len(samples):
            return
        self._received += len(samples)
        if self.recorder is not None:
            self.recorder(samples)
        self._inbox.put_nowait((samples, time.monotonic()))
        if self.lag_s > self.config.max_lag_s:
            raise LagExceeded(self.lag_s)

    def set_audio_format(self, audio: AudioFormat) -> None:
        """Change the incoming audio format (protocols that configure it after the
        socket opens); chunks pushed from now on are read in the new format."""
        if audio != self.config.audio:
            self.config = replace(self.config, audio=audio)
            self._audio_decoder = AudioDecoder(audio)

    def commit(self) -> None:
        self._inbox.put_nowait(_Control.COMMIT)

    def clear(self) -> None:
        self._inbox.put_nowait(_Control.CLEAR)

    def end(self) -> None:
        self._inbox.put_nowait(_Control.END)

    # --- processing, on the session's task --------------------------------------------
    async def run(self) -> None:
        while True:
            item = await self._inbox.get()
            if item is _Control.END:
                if self._partial_task is not None:
                    self._partial_task.cancel()
                if self._in_speech or self._heard_speech:
                    await self._finalize(self._stream_end(), manual=True, answer=False)
                self._ended = True
                await self.events.put(None)
                return
            if item is _Control.COMMIT:
                self._generation += 1
                await self._finalize(self._stream_end(), manual=True)
                continue
            if item is _Control.CLEAR:
                self._drop_until(self._received)
                continue
            assert not isinstance(item, _Control)
            samples, arrived = item
            self._arrivals.append((self._received_before(samples), arrived))
            self._audio = np.concatenate([self._audio, samples])
            probabilities = await asyncio.to_thread(self._vad.probabilities, samples)
            await self._apply_vad(probabilities)
            self._maybe_warn()
            if self._inbox.empty():  # partials only when caught up: finals first
                await self._maybe_partial()

    def _received_before(self, samples: np.ndarray) -> int:
        return self._base + len(self._audio) + len(samples)

    def _stream_end(self) -> int:
        return self._base + len(self._audio)

    async def _apply_vad(self, probabilities: np.ndarray) -> None:
        cfg = self.config
        min_speech = int(cfg.min_speech_s * TARGET_RATE)
        min_silence = int(cfg.silence_s * TARGET_RATE)
        for prob in probabilities:
            self._vad_pos += WINDOW
            if not self._in_speech:
                self._speech_run = (
                    self._speech_run + WINDOW if prob >= cfg.vad_threshold else 0
                )
                if self._speech_run >= min_speech:
                    self._in_speech = True
                    self._silence_run = 0
                    onset = self._vad_pos - self._speech_run
                    self._speech_start = max(
                        self._base, onset - int(_PREROLL_S * TARGET_RATE)
                    )
                    if not self._heard_speech:
                        self._first_onset = self._speech_start
                    self._heard_speech = True
                    self._last_partial = self._vad_pos
                    await self.events.put(SpeechStarted(round(onset / TARGET_RATE, 3)))
                continue
            quiet = prob < max(cfg.vad_threshold - 0.15, 0.05)
            self._silence_run = self._silence_run + WINDOW if quiet else 0
            end = self._vad_pos - self._silence_run + int(_TAIL_S * TARGET_RATE)
            if quiet and self._stream_end() >= end:
                self._speculate(end)
            if self._silence_run >= min_silence:
                self._in_speech = False
                self._generation += 1  # a partial still decoding is now stale
                self._speech_run = 0
                await self.events.put(SpeechEnded(round(end / TARGET_RATE, 3)))
                if cfg.commit_strategy is CommitStrategy.VAD:
                    await self._finalize(end, manual=False)
            elif self._vad_pos - self._utterance_start() >= (
                cfg.max_utterance_s * TARGET_RATE
            ):
                # Whisper reads 30 s at a time: cut long speech into utterances.
                self._generation += 1
                await self._finalize(self._vad_pos, manual=False)
                self._speech_start = self._vad_pos

    def _speculate(self, end: int) -> None:
        """Speech may have ended at ``end``: decode the final now, while the VAD
        waits out the silence that confirms it. If speech resumes, the result is
        simply not used; the decision then decodes the longer utterance itself.

        The wait (``silence_s``) is dead time otherwise: decoding in it takes a
        Whisper decode (~1 s on 2 CPU cores) off the final's latency.
        """
        cfg = self.config
        if cfg.commit_strategy is not CommitStrategy.VAD:
            return
        start = self._speech_start
        if self._speculative is not None:
            if self._speculative[:2] == (start, end):
                return  # already decoding this very utterance
            if not self._speculative[2].done():
                return  # one at a time: a stream must not queue decodes behind itself
        if end <= start:
            return
        # Sliced now: the audio buffer is trimmed at each final.
        audio = self._slice(start, end).copy()
        task = asyncio.create_task(
            self._decode_final(audio, priority=Priority.SPECULATIVE)
        )
        self._speculative = (start, end, task)

    def _language(self) -> str | None:
        """The language to decode in: the configured one, else the detected."""
        if self.config.language is None and self._detected is not None:
            return self._detected[0]
        return self.config.language

    def _remember_language(self, decoded: Decoded) -> Decoded:
        """Fix a confident first detection; later finals report its probability."""
        if self.config.language is not None:
            return decoded
        if self._detected is not None:
            return replace(decoded, language_probability=self._detected[1])
        probability = decoded.language_probability or 0.0
        if decoded.text and decoded.language and probability >= _DETECTION_MIN_P:
            self._detected = (decoded.language, probability)
        return decoded

    async def _decode_final(
        self, audio: np.ndarray, priority: Priority = Priority.FINAL
    ) -> Decoded:
        cfg = self.config
        return await self.decoder.decode(
            audio,
            model_id=cfg.model,
            language=self._language(),
            prompt=self._prompt(),
            hotwords=self._hotwords(),
            word_timestamps=cfg.word_timestamps,
            priority=priority,
        )

    async def _take_speculative(self, start: int, end: int) -> Decoded | None:
        """The speculative decode of exactly [start, end), if there is one."""
        speculative, self._speculative = self._speculative, None
        if speculative is None:
            return None
        spec_start, spec_end, task = speculative
        if (spec_start, spec_end) != (start, end):
            return None
        try:
            return await task
        except Exception:  # decode it again the ordinary way
            return None

    async def _maybe_partial(self) -> None:
        """Start a partial decode in the background: the VAD and finals never wait
        for a partial, and a partial that comes back after its utterance was
        finalized is dropped."""
        cfg = self.config
        if not cfg.interim_results or not self._in_speech:
            return
        if self._partial_task is not None and not self._partial_task.done():
            return
        if self._silence_run and self._speculative is not None:
            return  # the speculative final covers this audio already
        cadence = cfg.first_partial_s if not self._last_partial_text else None
        interval = (cadence or cfg.partial_interval_s) * self._partial_backoff
        if self._vad_pos - self._last_partial < interval * TARGET_RATE:
            return
        self._last_partial = self._vad_pos
        start = (
            self._speech_start
            if cfg.commit_strategy is CommitStrategy.VAD
            else self._first_speech()
        )
        audio = self._slice(start, self._vad_pos).copy()
        self._partial_task = asyncio.create_task(
            self._partial(audio, start, self._vad_pos, self._generation)
        )

    async def _partial(
        self, audio: np.ndarray, start: int, end: int, generation: int
    ) -> None:
        cfg = self.config
        try:
            decoded = await self.decoder.decode(
                audio,
                model_id=cfg.model,
                language=self._language(),
                prompt=self._prompt(),
                hotwords=self._hotwords(),
                word_timestamps=False,
                priority=Priority.PARTIAL,
            )
        except Skipped:
            # The worker is busy: ask for partials less often until one gets
            # through (a skipped partial costs nothing; a late one delays others).
            self._partial_backoff = min(self._partial_backoff * 2, _MAX_BACKOFF)
            return
        self._partial_backoff = 1.0
        if generation != self._generation or self._ended:
            return  # its utterance is already final
        text = self._stable.update(decoded.text.split())
        if text and text != self._last_partial_text:
            if not self._partial_sent:
                self._partial_sent = True
                telemetry.REALTIME_FIRST_PARTIAL_SECONDS.observe(
                    max(time.monotonic() - self._arrival_of(start), 0.0)
                )
            self._last_partial_text = text
            await self.events.put(
                Partial(
                    text=text,
                    start=round(start / TARGET_RATE, 3),
                    end=round(end / TARGET_RATE, 3),
                    stable=" ".join(self._stable.stable),
                )
            )

    def _utterance_start(self) -> int:
        if self.config.commit_strategy is CommitStrategy.MANUAL:
            return self._base
        return self._speech_start

    def _first_speech(self) -> int:
        # Manual commits: partials cover all speech since the last commit.
        if not self._heard_speech:
            return self._base
        return max(self._first_onset, self._base)

    async def _finalize(self, end: int, *, manual: bool, answer: bool = True) -> None:
        """Decode the utterance ending at ``end`` and emit its final."""
        cfg = self.config
        if cfg.commit_strategy is CommitStrategy.MANUAL:
            start = self._base  # everything since the last commit
        else:
            start = (
                self._speech_start if (self._in_speech or not manual) else self._base
            )
        heard = self._heard_speech or self._in_speech
        ready_at = self._arrival_of(end)
        final: Final | None = None
        if heard and end > start:
            decoded = await self._take_speculative(start, end)
            if decoded is None:
                decoded = await self._decode_final(self._slice(start, end))
            decoded = self._remember_language(decoded)
            offset = start / TARGET_RATE
            if decoded.text:
                final = Final(
                    text=decoded.text,
                    start=round(offset, 3),
                    end=round(end / TARGET_RATE, 3),
                    language=decoded.language,
                    language_probability=decoded.language_probability,
                    confidence=confidence(decoded.avg_logprob),
                    words=tuple(
                        type(w)(
                            w.text,
                            round(w.start + offset, 3),
                            round(w.end + offset, 3),
                            w.probability,
                        )
                        for w in decoded.words
                    ),
                    latency_s=round(time.monotonic() - ready_at, 3),
                )
        if final is None and manual and answer:
            # A manual commit always gets an answer, even for silence.
            final = Final("", start / TARGET_RATE, end / TARGET_RATE, None, None, None)
        if final is not None:
            if final.text:
                self.finals.append(final)
                telemetry.REALTIME_FINAL_SECONDS.observe(final.latency_s)
            await self.events.put(final)
        self._drop_until(end)

    def _drop_until(self, position: int) -> None:
        keep_from = max(position - self._base, 0)
        self._audio = self._audio[keep_from:]
        self._base += keep_from
        self._arrivals = [(p, t) for p, t in self._arrivals if p > self._base]
        self._stable.reset()
        self._generation += 1
        self._last_partial_text = ""
        self._heard_speech = self._in_speech
        if self._in_speech:
            self._speech_start = max(self._speech_start, self._base)
            self._first_onset = self._speech_start

    def _arrival_of(self, position: int) -> float:
        for pos, wall in self._arrivals:
            if pos >= position:
                return wall
        return time.monotonic()

    def _slice(self, start: int, end: int) -> np.ndarray:
        audio = self._audio[max(start - self._base, 0) : max(end - self._base, 0)]
        # A stream too quiet for the VAD is raised for Whisper too (vad.py), as
        # batch raises a quiet recording: the same words through every door.
        gain = np.float32(self._vad.gain)
        return audio * gain if gain != 1 else audio

    def _prompt(self) -> str | None:
        if self.finals:
            return " ".join(f.text for f in self.finals)[-_CONTEXT_CHARS:]
        return self.config.previous_text

    def _hotwords(self) -> str | None:
        return ", ".join(self.config.vocabulary) if self.config.vocabulary else None

    def _maybe_warn(self) -> None:
        lag = self.lag_s
        now = time.monotonic()
        if lag > self.config.lag_warning_s and now - self._warned_at > 5.0:
            self._warned_at = now
            telemetry.REALTIME_LAG_WARNINGS.inc()
            self.events.put_nowait(LagWarning(round(lag, 2)))

    # --- summary ----------------------------------------------------------------------
    @property
    def transcript(self) -> str:
        return " ".join(f.text for f in self.finals)


class LiveSession(Protocol):
    """What protocol adapters and the driver use of a session, local or remote."""

    id: str
    events: asyncio.Queue[Event | None]
    finals: list[Final]
    recorder: Callable[[np.ndarray], None] | None

    @property
    def config(self) -> SessionConfig: ...

    @config.setter
    def config(self, value: SessionConfig) -> None: ...

    @property
    def received_s(self) -> float: ...

    @property
    def transcript(self) -> str: ...

    def set_audio_format(self, audio: AudioFormat) -> None: ...

    def push_audio(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def clear(self) -> None: ...

    def end(self) -> None: ...

    async def run(self) -> None: ...
