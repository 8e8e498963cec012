"""Realtime first on shared cores: in a process that serves live streams and runs
batch engines, batch tasks wait at their checkpoints while stream decodes wait or
run, for at most ``realtime_batch_pause_s`` at a time. The unit under test is the
hand-over, so the stream model here only sleeps (bench/realtime.py --batch-beside
measures the latency it buys with the real model)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from dalston.config import Settings
from dalston.engine_sdk import TaskInput
from dalston.engine_sdk.priority import RealtimeGate
from dalston.realtime_sdk.decoder import Priority, StreamDecoder
from dalston.runtime import Role, Runtime
from tests.test_realtime_scheduler import _decode, _Pool, _SlowModel


def _task(gate: RealtimeGate | None, tmp_path: Path) -> TaskInput:
    return TaskInput(
        task_id="t",
        job_id="j",
        stage="transcribe",
        params={},
        audio_path=None,
        inputs={},
        work_dir=tmp_path,
        gate=gate,
    )


def test_batch_waits_while_a_stream_decodes(tmp_path: Path) -> None:
    gate = RealtimeGate(max_pause_s=30)
    task = _task(gate, tmp_path)
    order: list[str] = []
    with gate.busy():
        batch = threading.Thread(
            target=lambda: (task.check_cancelled(), order.append("batch"))
        )
        batch.start()
        batch.join(0.3)
        assert batch.is_alive() and order == []  # held at its checkpoint
        order.append("stream done")
    batch.join(5)
    assert order == ["stream done", "batch"]
    assert gate.paused_s > 0


def test_batch_is_slowed_not_stopped(tmp_path: Path) -> None:
    """Streams that never leave the cores idle still let batch work through,
    one unit per ``max_pause_s``."""
    gate = RealtimeGate(max_pause_s=0.2)
    task = _task(gate, tmp_path)
    with gate.busy():
        started = time.monotonic()
        for _ in range(3):
            task.check_cancelled()
        assert time.monotonic() - started >= 0.5


def test_no_gate_and_idle_gate_never_wait(tmp_path: Path) -> None:
    _task(None, tmp_path).check_cancelled()
    gate = RealtimeGate(max_pause_s=30)
    _task(gate, tmp_path).check_cancelled()
    assert gate.paused_s == 0
    with gate.busy():
        RealtimeGate(max_pause_s=0).wait_turn()  # 0: never pauses


async def test_stream_decodes_hold_the_gate_while_waiting_and_running() -> None:
    gate = RealtimeGate(max_pause_s=30)
    decoder = StreamDecoder(
        _Pool(_SlowModel(0.3)), threads=1, gate=gate, short_partials=False
    )
    try:
        first = asyncio.create_task(_decode(decoder, 1, Priority.FINAL))
        second = asyncio.create_task(_decode(decoder, 2, Priority.FINAL))
        await asyncio.sleep(0.1)
        assert gate.busy_count == 2  # one running, one waiting for the thread
        await first
        assert gate.busy_count == 1
        await second
        assert gate.busy_count == 0
    finally:
        decoder.close()


@pytest.mark.parametrize(
    ("role", "sched_idle", "gated", "idle"),
    [
        (Role(engines=("audio-prepare",), realtime=True), False, True, False),
        (Role(engines=("audio-prepare",), realtime=True), True, True, True),
        (Role(engines=("audio-prepare",), realtime=False), True, False, False),
    ],
)
async def test_embedded_runtime_shares_one_gate(
    tmp_path: Path, role: Role, sched_idle: bool, gated: bool, idle: bool
) -> None:
    settings = Settings(
        data_dir=tmp_path, realtime_capacity=2, engine_sched_idle=sched_idle
    )
    runtime = Runtime.build(settings, role)
    await runtime.start()
    try:
        # Batch threads beside streams take only idle cores (SCHED_IDLE) when
        # asked: never without streams in the process.
        policies = [
            await runner._in_thread(
                lambda: os.sched_getscheduler(threading.get_native_id())
            )
            for runner in runtime.runners
        ]
        assert policies and all((p == os.SCHED_IDLE) is idle for p in policies), (
            policies
        )
        if not gated:
            assert runtime.realtime_gate is None
            return
        gate = runtime.realtime_gate
        assert gate is not None and gate.max_pause_s == settings.realtime_batch_pause_s
        assert all(runner.gate is gate for runner in runtime.runners)
        decoders = [w.decoder for w in runtime.router.workers.values() if w.decoder]
        assert decoders and all(d.gate is gate for d in decoders)
    finally:
        await runtime.stop()


async def test_auto_capacity_is_measured_at_start(tmp_path: Path) -> None:
    """``DALSTON_REALTIME_CAPACITY=auto``: the worker times a real decode at start
    and offers what its threads hold (at least one session)."""
    settings = Settings(data_dir=tmp_path, realtime_capacity="auto")
    runtime = Runtime.build(settings, Role(engines=(), realtime=True))
    await runtime.start()
    try:
        [worker] = runtime.router.workers.values()
        assert 1 <= worker.capacity <= 256
        assert runtime.router.capacity == worker.capacity
    finally:
        await runtime.stop()
