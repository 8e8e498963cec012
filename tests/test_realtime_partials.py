"""Partials decoded in a short encoder window (``StreamDecoder._decode_partial``):
on real speech with the real tiny.en model they say what the full 30 s window
says (WER against it, and against the reference on whole clips), non-speech gives
no text, and a multilingual model with no language yet still detects it the
ordinary way. Latency is measured in bench/realtime.py, not here."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faster_whisper import decode_audio

from dalston.catalog import ModelCatalog
from dalston.config import Settings
from dalston.engines.faster_whisper.models import WhisperModels
from dalston.eval.scoring import wer
from dalston.realtime_sdk.decoder import (
    PARTIAL_WINDOW_MIN_S,
    Decoded,
    Priority,
    StreamDecoder,
    _Partial,
    partial_window_frames,
)

DATA = Path(__file__).parent / "data"
RATE = 16000
TINY = "whisper-tiny.en"
CLIPS = [
    "whisper_jfk.flac",
    "sb_lj050_0131.wav",
    "lhotse_lj002_0020.wav",
    "pv_ls_1272_128104_0000.wav",
    "mfa_ls_61_70968_0000.flac",
    "wenet_ls_1995_1837_0001.wav",
]


@pytest.fixture(scope="module")
def decoder() -> Iterator[StreamDecoder]:
    config = Settings().engine_config()
    catalog = ModelCatalog(
        cache_dir=config.model_cache_dir, local_dirs=config.model_dirs, hf_token=None
    )
    decoder = StreamDecoder(WhisperModels(catalog, config), threads=1)
    yield decoder
    decoder.close()


def _both(
    decoder: StreamDecoder, audio: np.ndarray, model: str, language: str | None
) -> tuple[Decoded, Decoded]:
    args = (audio, model, language, None, None, False)
    return decoder._decode_partial(*args), decoder._decode(*args)


def test_the_window_fits_the_audio() -> None:
    assert partial_window_frames(RATE) == PARTIAL_WINDOW_MIN_S * 100
    assert partial_window_frames(8 * RATE) == 1300  # 8 s + the 5 s margin
    assert partial_window_frames(40 * RATE) == 3000  # never past Whisper's window
    assert partial_window_frames(0) == PARTIAL_WINDOW_MIN_S * 100


def test_short_window_partials_say_what_the_full_window_says(
    decoder: StreamDecoder,
) -> None:
    full_texts: list[str] = []
    short_texts: list[str] = []
    references: list[str] = []
    whole_short: list[str] = []
    whole_full: list[str] = []
    for name in CLIPS:
        audio = decode_audio(str(DATA / name))
        # Prefixes as a stream's partials see them, from 2.5 s of speech on
        # (shorter prefixes end mid-word and are unstable in either window).
        for seconds in (2.5, 4.0, 8.0):
            if len(audio) >= seconds * RATE:
                short, full = _both(decoder, audio[: int(seconds * RATE)], TINY, "en")
                short_texts.append(short.text or "-")
                full_texts.append(full.text or "-")
        short, full = _both(decoder, audio, TINY, "en")
        references.append((DATA / name).with_suffix(".txt").read_text())
        whole_short.append(short.text)
        whole_full.append(full.text)
    assert len(short_texts) >= 12
    agreement = wer(full_texts, short_texts)
    assert agreement <= 0.15, list(zip(full_texts, short_texts, strict=True))
    # On whole clips, against the reference: interim text within 6 points of the
    # full window's (measured here: 0.058 vs 0.029; agreement above 0.072).
    assert wer(references, whole_short) <= wer(references, whole_full) + 0.06, (
        whole_short
    )


@pytest.mark.parametrize("kind", ["silence", "noise", "tone"])
def test_non_speech_partials_are_empty(decoder: StreamDecoder, kind: str) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(4 * RATE) / RATE
    audio = {
        "silence": np.zeros_like(t),
        "noise": 0.05 * rng.standard_normal(t.size),
        "tone": 0.3 * np.sin(2 * np.pi * 440 * t),
    }[kind].astype(np.float32)
    short = decoder._decode_partial(audio, TINY, "en", None, None, False)
    # Nothing, or a word or two: never a phrase, never a loop.
    assert len(short.text.split()) <= 2, short.text


def test_prompt_and_hotwords_reach_the_short_window(decoder: StreamDecoder) -> None:
    audio = decode_audio(str(DATA / "whisper_jfk.flac"))[: 5 * RATE]
    plain = decoder._decode_partial(audio, TINY, "en", None, None, False)
    prompted = decoder._decode_partial(
        audio, TINY, "en", "My fellow Americans.", "Americans", False
    )
    assert "americans" in plain.text.lower()
    assert "americans" in prompted.text.lower()
    assert prompted.avg_logprob is not None


def test_an_unknown_language_is_detected_on_the_full_window(
    decoder: StreamDecoder,
) -> None:
    audio = decode_audio(str(DATA / "pv_fr.wav"))[: 6 * RATE]
    short = decoder._decode_partial(audio, "whisper-base", None, None, None, False)
    assert short.language == "fr"
    assert short.language_probability is not None  # Whisper's own detection
    known = decoder._decode_partial(audio, "whisper-base", "fr", None, None, False)
    assert known.language == "fr" and known.language_probability is None
    assert wer([short.text], [known.text], language="fr") <= 0.35


def test_audio_past_whispers_window_is_decoded_whole(decoder: StreamDecoder) -> None:
    """A manual-commit session's partial can hold more than 30 s: all of it is
    decoded (the ordinary path reads window after window), not its first 30 s."""
    first = decode_audio(str(DATA / "mfa_cold_corpus.wav"))
    second = decode_audio(str(DATA / "whisper_jfk.flac"))
    audio = np.concatenate([first, np.zeros(RATE, np.float32), second])
    assert len(audio) > 30 * RATE
    short = decoder._decode_partial(audio, TINY, "en", None, None, False)
    assert "country" in short.text.lower(), short.text  # from the last 11 s


def _prefixes(seconds: float) -> list[np.ndarray]:
    return [decode_audio(str(DATA / name))[: int(seconds * RATE)] for name in CLIPS]


def test_partials_batched_say_what_each_says_alone(decoder: StreamDecoder) -> None:
    """Several sessions' partials decoded as one batch (``_decode_partials``):
    each gets the text it gets decoded alone, prompts of different shapes go
    in separate groups, and a long one is decoded the ordinary way."""
    audios = _prefixes(4.0)
    context = " ".join(["The quick brown fox jumps over the lazy dog."] * 6)
    prompts = [context, context, None, context, "Hello.", context]
    partials = [
        _Partial(audio, prompt, None)
        for audio, prompt in zip(audios, prompts, strict=True)
    ]
    long = decode_audio(str(DATA / "mfa_cold_corpus.wav"))
    assert partial_window_frames(len(long)) >= 3000
    partials.append(_Partial(long, None, None))
    batched = decoder._decode_partials(TINY, "en", partials)
    alone = [
        decoder._decode_partial(p.audio, TINY, "en", p.prompt, None, False)
        for p in partials
    ]
    assert len(batched) == len(partials)
    assert [b.language for b in batched] == ["en"] * len(partials)
    assert sum(bool(b.text) for b in batched) >= 6
    # One window and prompt shape: greedy decoding gives the same words (int8
    # batched arithmetic may move a word at most).
    assert wer([a.text for a in alone], [b.text for b in batched]) <= 0.03, [
        (a.text, b.text) for a, b in zip(alone, batched, strict=True)
    ]
    assert batched[-1].text == alone[-1].text


def test_waiting_partials_of_several_sessions_share_a_decode() -> None:
    """The scheduler (``batch_size`` 4, one thread): while a final holds the
    thread, partials of four sessions queue; they are then decoded in one
    batch, and each session gets its own text."""
    config = Settings().engine_config()
    catalog = ModelCatalog(
        cache_dir=config.model_cache_dir, local_dirs=config.model_dirs, hf_token=None
    )
    decoder = StreamDecoder(
        WhisperModels(catalog, config),
        threads=1,
        batch_size=4,
        partial_max_wait_s=60.0,
    )
    audios = _prefixes(3.0)[:4]
    final_audio = decode_audio(str(DATA / "mfa_cold_corpus.wav"))[: 20 * RATE]

    def ask(audio: np.ndarray, priority: Priority) -> Coroutine[Any, Any, Decoded]:
        return decoder.decode(
            audio,
            model_id=TINY,
            language="en",
            prompt=None,
            hotwords=None,
            word_timestamps=False,
            priority=priority,
        )

    async def run() -> tuple[Decoded, list[Decoded]]:
        final = asyncio.create_task(ask(final_audio, Priority.FINAL))
        await asyncio.sleep(0)  # the final takes the only thread
        partials = [ask(audio, Priority.PARTIAL) for audio in audios]
        return await final, list(await asyncio.gather(*partials))

    try:
        decoder.load(TINY)
        final, partials = asyncio.run(run())
        assert decoder.batches == 1 and decoder.skipped_partials == 0
        assert final.text
        alone = [
            decoder._decode_partial(a, TINY, "en", None, None, False) for a in audios
        ]
        assert wer([a.text for a in alone], [p.text for p in partials]) <= 0.03
        assert all(p.text for p in partials)
    finally:
        decoder.close()
