"""Long audio keeps every word: the server's windowed batch path (speech cut into
windows at its pauses, decoded several at once with timestamps) against raw
sequential faster-whisper on the same audio, by WER.

Two shapes are built from the English clips in tests/data (different speakers):
many short turns with 0.6 s gaps (where faster-whisper's own batched pipeline,
which packs speech into chunks with the silences cut out, lost words), and the
same speech run together with 0.1 s gaps (continuous, like narration). The server
takes the windowed path for both (``DALSTON_VAD_BATCH_THRESHOLD_S=30``); the
reference decode is ``WhisperModel.transcribe`` with the engine's options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dalston.audio import SAMPLE_RATE, decode_to_mono, write_wav16k
from dalston.eval.scoring import wer
from tests.conftest import DATA
from tests.server import ServerProcess, submit, wait_for_job

pytestmark = pytest.mark.model

CLIPS = (
    "whisper_jfk.flac",
    "lhotse_ls_2412_153948_0000.flac",
    "mfa_ls_61_70968_0000.flac",
    "wenet_ls_1995_1837_0001.wav",
    "pv_ls_1272_128104_0000.wav",
    "sb_lj050_0131.wav",
    "deepspeech_ldc93s1_8k.wav",
    "mfa_cold_corpus.wav",
    "lhotse_lj002_0020.wav",
)
TOLERANCE = 0.005  # the bound: at most sequential + 0.5 points


def _joined(path: Path, gap_s: float) -> tuple[Path, str, np.ndarray]:
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate(
        [x for name in CLIPS for x in (decode_to_mono(DATA / name)[0], gap)]
    )
    reference = " ".join(
        (DATA / name).with_suffix(".txt").read_text().strip() for name in CLIPS
    )
    write_wav16k(path, audio)
    return path, reference, audio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("long-audio"),
        env={"DALSTON_VAD_BATCH_THRESHOLD_S": "30"},
    )
    proc.start()
    yield proc
    proc.stop()


def _sequential(audio: np.ndarray) -> str:
    from faster_whisper import WhisperModel

    from dalston.catalog import ModelCatalog
    from dalston.config import Settings

    settings = Settings()
    config = settings.engine_config()
    catalog = ModelCatalog(
        cache_dir=config.model_cache_dir, local_dirs=config.model_dirs, hf_token=None
    )
    path = catalog.resolve_path("whisper-tiny.en")
    model = WhisperModel(str(path), device="cpu", compute_type="int8")
    segments, _ = model.transcribe(
        audio,
        language="en",
        beam_size=config.beam_size,
        word_timestamps=True,
        vad_filter=True,
    )
    return " ".join(s.text.strip() for s in segments)


@pytest.mark.parametrize("gap_s", [0.6, 0.1], ids=["many-turns", "continuous"])
def test_windowed_batch_path_loses_no_words(
    server: ServerProcess, tmp_path: Path, gap_s: float
) -> None:
    path, reference, audio = _joined(tmp_path / "long.wav", gap_s)
    assert len(audio) / SAMPLE_RATE > 60
    with server.client() as client:
        job = wait_for_job(client, submit(client, path, model="whisper-tiny.en"))
    assert job["status"] == "completed", job
    assert job["parameters"] is not None
    served = wer([reference], [job["text"]])
    sequential = wer([reference], [_sequential(audio)])
    assert served <= sequential + TOLERANCE, (served, sequential)
    # Timestamps: segments in order, inside the audio, none empty.
    segments = job["segments"]
    assert segments and all(s["text"] for s in segments)
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts)
    assert segments[-1]["end"] <= len(audio) / SAMPLE_RATE + 0.5
