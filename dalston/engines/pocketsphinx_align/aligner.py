"""Forced alignment of known words to 16 kHz speech with pocketsphinx.

The words go in as a finite-state grammar (the words in order, an optional
hesitation between any two, silences where the search finds them) rather than
``set_align_text``, which has no place for the "uh"s Whisper leaves out.

One ``Decoder`` holds the en-us acoustic model and the CMU dictionary (about
0.1 s and tens of MB to build) and is not thread-safe, while tasks may run in
several threads. ``DecoderPool`` builds decoders on first use, lends each to one
thread at a time and keeps them for the next call, so concurrent tasks each get
their own and a single-threaded server builds just one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
    """Aligners built lazily and lent to one thread at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Aligner] = []

    @contextmanager
    def aligner(self) -> Iterator[Aligner]:
        with self._lock:
            aligner = self._idle.pop() if self._idle else None
        if aligner is None:
            aligner = Aligner()  # outside the lock: other threads need not wait
        try:
            yield aligner
        finally:
            if aligner.healthy:
                with self._lock:
                    self._idle.append(aligner)

    def warm(self) -> None:
        with self.aligner():
            pass
