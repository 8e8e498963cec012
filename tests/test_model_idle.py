"""Idle models are unloaded (``DALSTON_MODEL_IDLE_TTL_S``), never one in use, and
load again on the next use; the runner drives it. The end-to-end check on a real
server with the real model is in ``tests/test_model_management.py``."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dalston.engine_sdk import (
    BatchEngine,
    EngineConfig,
    EngineRunner,
    TaskInput,
    TaskOutput,
)
from dalston.engines.faster_whisper import models as whisper_models
from dalston.engines.faster_whisper.models import WhisperModels
from dalston.queue import InProcessQueue
from dalston.storage import LocalArtifactStore


class _Loaded:
    """Stands in for ``faster_whisper.WhisperModel``: counts the instances."""

    made = 0

    def __init__(self, path: str, **kwargs: Any) -> None:
        type(self).made += 1
        self.path = path
        self.kwargs = kwargs


class _Catalog:
    def resolve_path(self, model_id: str) -> Path:
        return Path("/models") / model_id


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> WhisperModels:
    monkeypatch.setattr(whisper_models, "WhisperModel", _Loaded)
    _Loaded.made = 0
    return WhisperModels(_Catalog(), EngineConfig(device="cpu"))  # type: ignore[arg-type]


def test_an_idle_model_is_unloaded_and_loads_again(models: WhisperModels) -> None:
    first = models.get("m")
    assert models.loaded == ["m"] and _Loaded.made == 1
    assert models.unload_idle(60) == []  # used just now
    assert models.unload_idle(0) == ["m"]
    assert models.loaded == []
    with models.use("m") as again:
        assert again is not first and _Loaded.made == 2
    assert "m" in models.load_seconds


def test_a_model_in_use_is_never_unloaded(models: WhisperModels) -> None:
    with models.use("m"):
        time.sleep(0.05)
        assert models.unload_idle(0) == []
        with models.use("m"):
            assert models.unload_idle(0) == []
    assert models.unload_idle(0.04) == []  # idle time counts from the last use
    time.sleep(0.05)
    assert models.unload_idle(0.04) == ["m"]


class _IdleEngine(BatchEngine):
    engine_id = "idle-test"
    stage = "work"

    def __init__(self) -> None:
        super().__init__(EngineConfig())
        self.held = ["m"]
        self.asked: list[float] = []
        self.unloaded = threading.Event()

    def loaded_models(self) -> list[str]:
        return list(self.held)

    def unload_idle(self, idle_s: float) -> list[str]:
        self.asked.append(idle_s)
        dropped, self.held = self.held, []
        if dropped:
            self.unloaded.set()
        return dropped

    def process(self, task: TaskInput) -> TaskOutput:  # pragma: no cover
        return TaskOutput(data={})


async def _serve(runner: EngineRunner, seconds: float) -> None:
    served = asyncio.create_task(runner.run())
    await asyncio.sleep(seconds)
    runner.stop()
    await served


async def test_the_runner_unloads_idle_models(tmp_path: Path) -> None:
    engine = _IdleEngine()
    runner = EngineRunner(
        engine, InProcessQueue(), LocalArtifactStore(tmp_path), idle_unload_s=0.2
    )
    await _serve(runner, 0.6)
    assert engine.unloaded.is_set() and engine.loaded_models() == []
    assert set(engine.asked) == {0.2}


async def test_a_zero_ttl_keeps_models_loaded(tmp_path: Path) -> None:
    engine = _IdleEngine()
    runner = EngineRunner(engine, InProcessQueue(), LocalArtifactStore(tmp_path))
    await _serve(runner, 0.3)
    assert engine.asked == [] and engine.loaded_models() == ["m"]


def _cores(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(whisper_models.os, "cpu_count", lambda: count)


def test_tasks_that_overlap_on_cpu_get_a_narrow_instance(
    models: WhisperModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset slots and threads on a 4-core CPU: two slots; a task alone gets the
    wide instance (one worker, every core), one that starts while another runs
    the narrow one (a worker per slot, two cores each)."""
    _cores(monkeypatch, 4)
    models = WhisperModels(_Catalog(), EngineConfig(device="cpu"))  # type: ignore[arg-type]
    assert models.slots == 2 and models.auto_width
    with models.use("m") as wide:
        with models.use("m") as narrow:
            assert narrow is not wide
        assert narrow.kwargs["num_workers"] == 2  # type: ignore[attr-defined]
        assert narrow.kwargs["cpu_threads"] == 2  # type: ignore[attr-defined]
    assert wide.kwargs["num_workers"] == 1  # type: ignore[attr-defined]
    assert wide.kwargs["cpu_threads"] == 0  # type: ignore[attr-defined]
    assert models.get("m") is wide
    with models.use("m") as alone_again:
        assert alone_again is wide
    assert models.loaded == ["m"] and _Loaded.made == 2
    assert models.unload_idle(0) == ["m"]
    assert models.loaded == []
    with models.use("m") as reloaded:
        assert reloaded is not wide and _Loaded.made == 3


def test_set_slots_or_threads_share_one_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(whisper_models, "WhisperModel", _Loaded)
    _cores(monkeypatch, 4)
    for config in (
        EngineConfig(device="cpu", concurrency=3),
        EngineConfig(device="cpu", cpu_threads=1),
    ):
        models = WhisperModels(_Catalog(), config)  # type: ignore[arg-type]
        assert not models.auto_width
        with models.use("m") as held, models.use("m") as same:
            assert same is held
        assert held.kwargs["num_workers"] == models.slots  # type: ignore[attr-defined]
    assert models.slots == 2  # threads set, slots by the rule


def test_task_slots_rule() -> None:
    pick = whisper_models.pick_task_slots
    assert pick("cpu", None, 2) == 2
    assert pick("cpu", None, 1) == 1
    assert pick("cuda", None, 16) == 1
    assert pick("cuda", 3, 16) == 3 and pick("cpu", 1, 8) == 1
