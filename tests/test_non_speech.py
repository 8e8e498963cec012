"""Non-speech audio (silence, a tone, white and pink noise, synthetic music,
clicks) yields an empty or near-empty transcript, never invented text or a
repeated phrase, with the English and the multilingual model, on the short path
and on the long (VAD-batched) one. The signals are generated here."""

from __future__ import annotations

import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import non_speech
from tests.server import ServerProcess, submit, wait_for_job

RATE = 16000


def _write(folder: Path, name: str, samples: np.ndarray) -> Path:
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _repeats(text: str) -> int:
    """The most times any 3-word phrase occurs: a looping decoder repeats one."""
    words = text.lower().split()
    grams = Counter(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return max(grams.values(), default=0)


def _check(server: ServerProcess, paths: list[Path], model: str) -> None:
    with server.client() as client:
        for path in paths:
            job = wait_for_job(client, submit(client, path, model=model))
            assert job["status"] == "completed", job
            text = job["text"] or ""
            assert len(text.split()) <= 3, (path.name, model, text)
            assert _repeats(text) <= 1, (path.name, model, text)


@pytest.mark.parametrize("model", ["whisper-tiny.en", "whisper-base"])
def test_short_non_speech_gives_no_text(
    server: ServerProcess, tmp_path: Path, model: str
) -> None:
    paths = [_write(tmp_path, n, s) for n, s in non_speech(20).items()]
    _check(server, paths, model)


def test_long_non_speech_gives_no_text(server: ServerProcess, tmp_path: Path) -> None:
    """Past DALSTON_VAD_BATCH_THRESHOLD_S (120 s): the VAD-batched path."""
    signals = non_speech(130)
    paths = [_write(tmp_path, f"long_{n}", signals[n]) for n in ("music", "pink_noise")]
    _check(server, paths, "whisper-tiny.en")


def _distant_voice_room(folder: Path) -> tuple[Path, str]:
    """A minute of a distant voice (French read speech at -62 dBFS, a TV in the
    next room) with one English sentence at an ordinary level in the middle."""
    from dalston.audio import decode_to_mono
    from dalston.audio.vad import frame_levels
    from tests.audio_fixtures import DATA

    sentence = DATA / "pv_ls_1272_128104_0000.wav"
    near, _ = decode_to_mono(sentence)
    far, _ = decode_to_mono(DATA / "pv_fr.wav")
    room = np.tile(far, RATE * 60 // far.size + 1)[: RATE * 60]
    room *= 10 ** (-62 / 20) / np.percentile(frame_levels(room), 99)
    room[RATE * 30 : RATE * 30 + near.size] += near
    return _write(folder, "distant_voice", room), sentence.with_suffix(
        ".txt"
    ).read_text()


@pytest.mark.parametrize(
    ("model", "params"),
    [
        # Speech the first pass jumped over (the distant voice) is decoded again
        # on its own: tiny.en looped there ("and thank you very much" x 100).
        ("whisper-tiny.en", {"language": "en", "timestamps_granularity": "word"}),
        ("whisper-tiny.en", {"language": "en", "timestamps_granularity": "segment"}),
        # Conditioned on the sentence, base wrote it again over the voice.
        ("whisper-base", {"language": "auto", "timestamps_granularity": "segment"}),
    ],
)
def test_a_sentence_in_a_room_with_a_distant_voice_is_written_once(
    server: ServerProcess, tmp_path: Path, model: str, params: dict[str, str]
) -> None:
    from dalston.eval.scoring import wer

    path, reference = _distant_voice_room(tmp_path)
    with server.client() as client:
        submitted = submit(client, path, model=model, **params)
        job = wait_for_job(client, submitted)
    assert job["status"] == "completed", job
    text = job["text"] or ""
    assert _repeats(text) <= 1, text
    assert wer([reference], [text]) <= 0.2, text
