"""Forced alignment of known words to 16 kHz speech with pocketsphinx.

The words go in as a finite-state grammar (the words in order, an optional
hesitation between any two, silences where the search finds them) rather than
``set_align_text``, which has no place for the "uh"s Whisper leaves out.

One ``Decoder`` holds the en-us acoustic model and the CMU dictionary (about
0.1 s and tens of MB to build) and is not thread-safe. Its Python binding holds
the GIL for a whole utterance (0.3 s for 12 s of speech, over a second for the
longest runs): in the server's own process that would stall the event loop and
live streams' decodes. So ``DecoderPool`` runs aligners in child processes (one
decoder each, built once and kept), as many as the engine aligns windows at once
(a task's distant stretches side by side, see ``retime.py``), at the CPU priority
of the engine thread that started them. A decoder keeps a little state from one
window to the next: the same window can come out a frame (10 ms) apart after
different windows.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from dalston.engines.pocketsphinx_align.lexicon import spoken_words

SAMPLE_RATE = 16000
# Entries of the segmentation that are not words of the text: silences, the
# noise words of the acoustic model's filler dictionary, hesitations and the
# grammar's null arcs ("(NULL)").
_FILLER_PREFIXES = ("<", "[", "+", "(")
BEAM = 1e-120
WORD_BEAM = 1e-100
# Hesitations Whisper leaves out ("uh so this is"): the grammar lets one stand
# between any two words, or the aligner stretches the neighbouring words over
# them. Bracketed names keep them apart from an "uh" that Whisper did write.
HESITATIONS = {"[uh]": "AH", "[um]": "AH M", "[hmm]": "HH M"}
HESITATION_PROB = 0.05
_SEARCH = "align"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WordTiming:
    start: float  # seconds from the start of the aligned samples
    end: float


class Aligner:
    """A decoder with its own dictionary additions (guessed pronunciations)."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder  # the optional extra: import on first use

        # No language model: alignment needs the acoustic model and dictionary
        # only, and loading the 27 MB trigram model would cost time and memory.
        # Wide beams: the search graph is one word chain, so they cost little, and
        # the default beams prune the true path away wherever Whisper's words are
        # not quite what was said ("purpose" for "corpus", a dropped "uh").
        self._decoder: Any = Decoder(
            samprate=SAMPLE_RATE,
            lm=None,
            bestpath=False,
            loglevel="FATAL",
            beam=BEAM,
            pbeam=BEAM,
            wbeam=WORD_BEAM,
        )
        self._frame_rate = int(self._decoder.config["frate"])
        for name, phones in HESITATIONS.items():
            self._decoder.add_word(name, phones, True)
        # False once an utterance failed half-way: the pool then drops this one
        # rather than lend a decoder in an unknown state.
        self.healthy = True

    def lookup(self, word: str) -> str | None:
        phones = self._decoder.lookup_word(word)
        return str(phones) if phones else None

    def dictionary_words(self, text: str) -> list[str]:
        """The dictionary words ``text`` is spoken as, adding guessed ones."""
        words = []
        for spoken in spoken_words(text, self.lookup):
            if spoken.phones is not None and self.lookup(spoken.word) is None:
                self._decoder.add_word(spoken.word, spoken.phones, True)
            words.append(spoken.word)
        return words

    def align(
        self, samples: np.ndarray, words: Sequence[str]
    ) -> list[WordTiming] | None:
        """Times of ``words`` (dictionary words, in order) in mono float samples;
        None when the decoder finds no path through all of them."""
        if not words:
            return None
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        try:
            self._decoder.add_fsg(_SEARCH, self._grammar(words))
            self._decoder.activate_search(_SEARCH)
        except (RuntimeError, ValueError):
            return None
        try:
            self._decoder.start_utt()
            # full_utt: normalise cepstra over the whole window, not a running mean
            # that starts from the model's defaults.
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
        except RuntimeError:
            self.healthy = False
            return None
        if self._decoder.hyp() is None:
            return None
        timings = []
        names = []
        for seg in self._decoder.seg():
            name = str(seg.word)
            if name.startswith(_FILLER_PREFIXES):
                continue
            # Alternative pronunciations come back as "word(2)".
            names.append(name.split("(", 1)[0])
            timings.append(
                WordTiming(
                    start=seg.start_frame / self._frame_rate,
                    end=(seg.end_frame + 1) / self._frame_rate,
                )
            )
        if names != list(words):
            return None  # a partial path: do not guess which words it covers
        return timings

    def align_texts(
        self, samples: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[list[str]], list[WordTiming] | None]:
        """The dictionary words each text is spoken as, and the times of all of
        them in order (``align``'s answer; None also when there are none)."""
        spoken = [self.dictionary_words(text) for text in texts]
        flat = [word for parts in spoken for word in parts]
        return spoken, self.align(samples, flat) if flat else None

    def _grammar(self, words: Sequence[str]) -> Any:
        """The words in order, with an optional hesitation before, between and
        after them (silences the search inserts itself)."""
        n = len(words)
        transitions: list[tuple[Any, ...]] = [
            (i, i + 1, 1.0, word) for i, word in enumerate(words)
        ]
        for i in range(n + 1):
            # From word position i to its own side state and back by a null arc.
            side = n + 1 + i
            transitions.extend((i, side, HESITATION_PROB, h) for h in HESITATIONS)
            transitions.append((side, i, 1.0))
        return self._decoder.create_fsg(_SEARCH, 0, n, transitions)


class DecoderPool:
    """Aligners in child processes (see the module's note), started on first use
    and kept; a child that died is replaced on the next call."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def align_texts(
        self, samples: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[list[str]], list[WordTiming] | None]:
        """``Aligner.align_texts`` in a child process; a child that dies on the
        way answers "no alignment" (the words keep Whisper's times)."""
        executor = self._pool()
        try:
            future = executor.submit(
                _child_align, np.asarray(samples, dtype=np.float32), list(texts)
            )
            return future.result()
        except BrokenProcessPool:
            log.warning("an aligner process died; starting another")
            self._discard(executor)
            return [], None

    def warm(self) -> None:
        """Start a child and build its decoder now (the engine's load)."""
        self._pool().submit(_child_warm).result()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    # spawn: a fork of a process with threads may inherit locks
                    # held by threads that do not exist in the child.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_start,
                    initargs=(_thread_nice(), _thread_idle(), os.getpid()),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)


def _thread_nice() -> int | None:
    """This thread's CPU priority (Linux keeps one per thread)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (AttributeError, OSError):
        return None


def _thread_idle() -> bool:
    """Whether this thread runs under ``SCHED_IDLE`` (batch work in a process
    that serves live streams)."""
    try:
        return os.sched_getscheduler(threading.get_native_id()) == os.SCHED_IDLE
    except (AttributeError, OSError):
        return False


# In a child process: its one aligner, built on first use.
_child_aligner: Aligner | None = None


def _child_start(nice: int | None, idle: bool, parent: int) -> None:
    """The spawning thread's priority, in the child (spawned processes may be
    started from another thread of the pool); and an end with ``parent``."""
    _end_with(parent)
    if nice is not None:
        try:
            current = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, 0, max(nice, current))
        except OSError:
            pass
    if idle:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):
            pass


# How often a child checks that the process that started it is alive.
PARENT_CHECK_S = 1.0


def _end_with(parent: int) -> None:
    """Exit once ``parent`` is gone (killed with -9, or by the OOM killer): a
    pool worker waits on a queue whose writing end it holds too, so it never sees
    EOF and would outlive the server, ~60 MB and a resource tracker each."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_get() -> Aligner:
    global _child_aligner
    if _child_aligner is None or not _child_aligner.healthy:
        _child_aligner = Aligner()
    return _child_aligner


def _child_warm() -> None:
    _child_get()


def _child_align(
    samples: np.ndarray, texts: list[str]
) -> tuple[list[list[str]], list[WordTiming] | None]:
    return _child_get().align_texts(samples, texts)
