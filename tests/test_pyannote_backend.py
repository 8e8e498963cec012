"""The pyannote diarization backend, as far as it can run here.

The real pipelines are gated on the Hugging Face Hub, which these machines cannot
reach, so ``tests/pyannote_stub`` stands in for ``pyannote.audio``: the same
``Pipeline`` API, answering from an RTTM file. That proves what Dalston does around
the model: the backend setting routes diarization to it, the token and the model
name reach ``from_pretrained``, the audio and counts reach the pipeline in the shape
pyannote takes, its answer becomes the same turns and speakers as the default
backend's, and loading failures fail the job with a message that says what to do.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dalston.engine_sdk import (
    EngineConfig,
    EngineError,
    PermanentEngineError,
    TaskInput,
)
from dalston.engines.pyannote_diarize.engine import PyannoteDiarizeEngine
from tests.server import ServerProcess, submit, wait_for_job

DATA = Path(__file__).parent / "data"
STUB = Path(__file__).parent / "pyannote_stub"
SAMPLE = DATA / "pyannote_sample.wav"
RTTM = DATA / "pyannote_sample.rttm"
TOKEN = "hf_test_token"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """``pyannote.audio`` is the stub for this test; yields its call log."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("STUB_PYANNOTE_RTTM", str(RTTM))
    monkeypatch.setenv("STUB_PYANNOTE_TOKEN", TOKEN)
    monkeypatch.setenv("STUB_PYANNOTE_LOG", str(log))
    monkeypatch.syspath_prepend(str(STUB))
    saved = sys.modules.pop("pyannote.audio", None)
    module = importlib.import_module("pyannote.audio")
    assert Path(module.__file__ or "").is_relative_to(STUB)
    yield log
    sys.modules.pop("pyannote.audio", None)
    if saved is not None:
        sys.modules["pyannote.audio"] = saved


def _task(params: dict[str, Any], tmp_path: Path) -> TaskInput:
    return TaskInput("t", "j", "diarize", params, SAMPLE, {}, tmp_path)


def _calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_pipeline_gets_token_audio_and_counts(stub: Path, tmp_path: Path) -> None:
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token=TOKEN))
    params = {"num_speakers": 2, "max_speakers": 5, "diarization_model": "org/m"}
    output = engine.process(_task(params, tmp_path)).data
    load, run = _calls(stub)
    assert load == {"call": "from_pretrained", "checkpoint": "org/m", "token": TOKEN}
    # One mixed channel at 16 kHz, float32; a count wins over bounds (pyannote
    # rejects both together).
    assert run["shape"] == [1, 30 * 16000] and run["dtype"] == "torch.float32"
    assert run["sample_rate"] == 16000 and run["counts"] == {"num_speakers": 2}
    # The default backend's shape: speakers named by first appearance, turns
    # sorted, overlapping turns kept.
    assert output["backend"] == "pyannote"
    assert output["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert output["num_speakers"] == 2
    turns = output["turns"]
    assert turns[0]["speaker"] == "SPEAKER_00"
    assert [t["start"] for t in turns] == sorted(t["start"] for t in turns)
    assert any(b["start"] < a["end"] for a, b in itertools.pairwise(turns))
    # The pipeline loads once per model.
    engine.process(_task({"min_speakers": 2}, tmp_path))
    engine.process(_task({}, tmp_path))
    calls = _calls(stub)
    loads = [c["checkpoint"] for c in calls if c["call"] == "from_pretrained"]
    assert loads == ["org/m", "pyannote/speaker-diarization-3.1"]
    runs = [c["counts"] for c in calls if c["call"] == "pipeline"]
    assert runs[1:] == [{"min_speakers": 2}, {}]


def test_a_refused_token_fails_the_job_and_says_why(stub: Path, tmp_path: Path) -> None:
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token="hf_other"))
    with pytest.raises(PermanentEngineError) as failure:
        engine.process(_task({}, tmp_path))
    message = str(failure.value)
    assert "pyannote/speaker-diarization-3.1" in message and "403" in message
    assert "accepted the model's conditions" in message


def test_pyannote_3_token_argument_and_refusal(
    stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyannote.audio 3.x takes ``use_auth_token`` and returns None when refused."""
    module = sys.modules["pyannote.audio"]
    seen: list[str | None] = []

    class Pipeline3(module.Pipeline):  # type: ignore[name-defined,misc]
        @classmethod
        def from_pretrained(  # type: ignore[override]
            cls, checkpoint: str, use_auth_token: str | None = None
        ) -> Any:
            seen.append(use_auth_token)
            return cls(checkpoint) if use_auth_token == TOKEN else None

    monkeypatch.setattr(module, "Pipeline", Pipeline3)
    output = PyannoteDiarizeEngine(EngineConfig(hf_token=TOKEN)).process(
        _task({}, tmp_path)
    )
    assert seen == [TOKEN] and output.data["num_speakers"] == 2
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token="hf_other"))
    with pytest.raises(PermanentEngineError, match="could not load"):
        engine.process(_task({}, tmp_path))


def test_an_unreachable_hub_is_retried(
    stub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = sys.modules["pyannote.audio"]

    class ConnectionTimeout(OSError):
        pass

    def unreachable(checkpoint: str, token: str | None = None) -> Any:
        raise ConnectionTimeout("huggingface.co: timed out")

    monkeypatch.setattr(module.Pipeline, "from_pretrained", unreachable)
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token=TOKEN))
    with pytest.raises(EngineError) as failure:
        engine.process(_task({}, tmp_path))
    assert failure.value.retriable and "could not reach" in str(failure.value)


# --- through the server: the backend setting ---------------------------------------


def _job_with_pyannote(
    tmp_path: Path, token: str | None, **data: str
) -> dict[str, Any]:
    """A diarized job of the sample on a server set to the pyannote backend."""
    path = os.pathsep.join(filter(None, [str(STUB), os.environ.get("PYTHONPATH")]))
    env = {
        "DALSTON_DIARIZATION_BACKEND": "pyannote",
        "DALSTON_PYANNOTE_MODEL": "org/meeting-pipeline",
        "PYTHONPATH": path,
        "STUB_PYANNOTE_RTTM": str(RTTM),
        "STUB_PYANNOTE_TOKEN": TOKEN,
        "STUB_PYANNOTE_LOG": str(tmp_path / "calls.jsonl"),
        "HF_TOKEN": token or "",
    }
    server = ServerProcess(tmp_path / "data", env=env)
    server.start()
    try:
        with server.client() as client:
            job_id = submit(client, SAMPLE, speaker_detection="diarize", **data)
            return wait_for_job(client, job_id)
    finally:
        server.stop()


@pytest.mark.model
def test_the_backend_setting_diarizes_jobs_with_pyannote(tmp_path: Path) -> None:
    job = _job_with_pyannote(tmp_path, TOKEN, num_speakers="2")
    assert job["status"] == "completed", job
    diarize = next(s for s in job["stages"] if s["stage"] == "diarize")
    assert diarize["engine_id"] == "pyannote-diarize", diarize
    assert [s["id"] for s in job["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    calls = _calls(tmp_path / "calls.jsonl")
    assert calls[0]["checkpoint"] == "org/meeting-pipeline"
    assert calls[1]["counts"] == {"num_speakers": 2}
    # The stub answers with the reference, so each word's speaker is the
    # reference's at that time: the merge treats pyannote's turns as its own.
    reference = [line.split() for line in RTTM.read_text().splitlines()]
    first = reference[0][7]
    names = {first: "SPEAKER_00"}
    for fields in reference:
        names.setdefault(fields[7], "SPEAKER_01")
    agree = total = 0
    for word in job["words"]:
        middle = (word["start"] + word["end"]) / 2
        speaking = {
            names[f[7]]
            for f in reference
            if float(f[3]) <= middle <= float(f[3]) + float(f[4])
        }
        if len(speaking) == 1:
            total += 1
            agree += word["speaker"] in speaking
    assert total > 30 and agree / total >= 0.9, (agree, total)


@pytest.mark.model
def test_without_a_token_the_job_fails_with_what_to_do(tmp_path: Path) -> None:
    job = _job_with_pyannote(tmp_path, None)
    assert job["status"] == "failed"
    assert "HF_TOKEN" in job["error"], job["error"]
