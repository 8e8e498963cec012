"""A stage that follows another (``EngineSpec.follows``) starts while that one
runs, works ahead on its output so far, and finishes on its whole output.

The unit under test is the scheduling (orchestrator, runners, queue, storage,
SQLite); the engines are small fakes. The real pair (transcribe, then align) is
proven in tests/test_align.py (aligning ahead gives the same times) and
tests/test_long_audio.py (a long job's alignment starts during transcription).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dalston.db.models import Job
from dalston.engine_sdk import (
    BatchEngine,
    EngineConfig,
    EngineRunner,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engine_sdk import runner as runner_module
from dalston.engine_sdk.spec import EngineSpec
from dalston.orchestrator import JobStatus, Orchestrator, StageSpec, dag
from dalston.orchestrator.dag import AudioInput
from dalston.queue import InProcessQueue, TaskMessage
from dalston.storage import LocalArtifactStore
from tests.test_orchestrator import JobRows, local_state


class Publishing(BatchEngine):
    """Publishes ``versions`` outputs so far, each once the follower has seen
    the one before; then waits for ``release`` (or fails, with ``fail``)."""

    spec = EngineSpec(id="publishing", stage="first", target="tests:Publishing")

    def __init__(self, versions: int, seen: list[threading.Event], fail: bool) -> None:
        super().__init__(EngineConfig())
        self.versions = versions
        self.seen = seen
        self.fail = fail
        self.release = threading.Event()

    def process(self, task: TaskInput) -> TaskOutput:
        for version in range(1, self.versions + 1):
            task.publish(lambda version=version: {"so_far": version})
            while not self.seen[version].wait(0.02):
                task.check_cancelled()
        if self.fail:
            raise PermanentEngineError("first: broken input")
        while not self.release.wait(0.02):
            task.check_cancelled()
        return TaskOutput(data={"so_far": "all"})


class Following(BatchEngine):
    spec = EngineSpec(
        id="following", stage="second", target="tests:Following", follows="first"
    )

    def __init__(self, seen: list[threading.Event]) -> None:
        super().__init__(EngineConfig())
        self.seen = seen
        self.versions: list[Any] = []
        self.processed: list[Any] = []

    def work_ahead(self, task: TaskInput, partial: Mapping[str, Any]) -> None:
        self.versions.append(partial["so_far"])
        task.ahead["versions"] = [*task.ahead.get("versions", []), partial["so_far"]]
        self.seen[partial["so_far"]].set()

    def process(self, task: TaskInput) -> TaskOutput:
        self.processed.append(task.inputs["first"])
        return TaskOutput(
            data={"input": task.inputs["first"], "ahead": task.ahead.get("versions")}
        )


@dataclass
class Pair(JobRows):
    first: Publishing
    second: Following
    queue: InProcessQueue
    runners: list[EngineRunner]
    runs: list[asyncio.Task[None]]  # the runners' run()

    async def submit(self) -> str:
        return await self.start(
            [
                StageSpec("first", "publishing", audio=AudioInput.NONE),
                StageSpec(
                    "second", "following", depends_on=("first",), audio=AudioInput.NONE
                ),
            ]
        )

    async def following(self) -> str:
        """A job whose second stage has worked on the first version."""
        job_id = await self.submit()
        await asyncio.to_thread(self.second.seen[1].wait, 10)
        await self.wait(job_id, JobStatus.RUNNING)
        return job_id


async def _pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, versions: int, fail: bool = False
) -> AsyncIterator[Pair]:
    monkeypatch.setitem(dag.FOLLOWS, "following", "first")
    monkeypatch.setattr(runner_module, "_PUBLISH_EVERY_S", 0.0)
    monkeypatch.setattr(runner_module, "_FOLLOW_POLL_S", 0.02)
    db, sessions, storage = await local_state(tmp_path)
    queue = InProcessQueue()
    orchestrator = Orchestrator(
        session_factory=sessions, storage=storage, queue=queue, retry_backoff_s=0.01
    )
    seen = [threading.Event() for _ in range(versions + 1)]
    first, second = Publishing(versions, seen, fail), Following(seen)
    runners = [
        EngineRunner(first, queue, storage),
        EngineRunner(second, queue, storage),
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    tasks.append(asyncio.create_task(orchestrator.run()))
    try:
        yield Pair(sessions, orchestrator, first, second, queue, runners, tasks[:2])
    finally:
        first.release.set()
        for event in seen:
            event.set()
        for r in runners:
            r.stop()
        orchestrator.stop()
        await asyncio.gather(*tasks)
        await db.dispose()


def _tasks(job: Job) -> dict[str, Any]:
    return {t.stage: t for t in job.tasks}


async def test_a_follower_works_ahead_and_finishes_on_the_whole_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async for pair in _pair(tmp_path, monkeypatch, versions=3):
        job_id = await pair.submit()
        await asyncio.to_thread(pair.second.seen[3].wait, 10)
        tasks = _tasks(await pair.job(job_id))
        assert tasks["first"].status == "running"
        assert tasks["second"].status in ("queued", "running")
        assert pair.second.versions == [1, 2, 3]  # each version, while first ran
        # While it waits for the whole output, its engine's one task slot is
        # free: another task of that engine runs meanwhile.
        other = TaskMessage(
            task_id="other",
            job_id=str(uuid.uuid4()),
            stage="second",
            engine_id="following",
            attempt=1,
            inputs={"first": {"so_far": "another job's"}},
        )
        await pair.queue.put_task(other)
        for _ in range(250):
            if pair.second.processed:
                break
            await asyncio.sleep(0.02)
        assert pair.second.processed == [{"so_far": "another job's"}]
        assert _tasks(await pair.job(job_id))["second"].status == "running"
        pair.first.release.set()
        # (The job itself fails at assembly: these fakes write no transcript.)
        job = await pair.wait(job_id, JobStatus.COMPLETED, JobStatus.FAILED)
        tasks = _tasks(job)
        assert [tasks[s].status for s in ("first", "second")] == ["succeeded"] * 2
        assert tasks["second"].started_at < tasks["first"].completed_at
        store = LocalArtifactStore(tmp_path / "artifacts")
        output = await store.get_bytes(tasks["second"].output_key)
        assert b'"input": {"so_far": "all"}' in output  # the whole output
        assert b'"ahead": [1, 2, 3]' in output  # what it kept working ahead


async def test_a_stage_that_publishes_nothing_is_followed_when_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async for pair in _pair(tmp_path, monkeypatch, versions=0):
        job_id = await pair.submit()
        await asyncio.sleep(0.5)
        assert _tasks(await pair.job(job_id))["second"].status == "waiting"
        pair.first.release.set()
        job = await pair.wait(job_id, JobStatus.COMPLETED, JobStatus.FAILED)
        tasks = _tasks(job)
        assert [tasks[s].status for s in ("first", "second")] == ["succeeded"] * 2
        assert tasks["second"].started_at >= tasks["first"].completed_at
        assert pair.second.versions == []


async def test_cancel_stops_a_follower_that_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async for pair in _pair(tmp_path, monkeypatch, versions=1):
        job_id = await pair.following()
        assert await pair.orchestrator.cancel_job(job_id) == JobStatus.CANCELLING
        job = await pair.wait(job_id, JobStatus.CANCELLED)
        assert sorted(t.status for t in job.tasks) == ["cancelled", "cancelled"]


async def test_a_follower_of_a_stage_that_fails_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async for pair in _pair(tmp_path, monkeypatch, versions=1, fail=True):
        job_id = await pair.submit()
        job = await pair.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
        assert job.status == "failed"
        assert "broken input" in (job.error or "")
        tasks = _tasks(job)
        assert (tasks["first"].status, tasks["second"].status) == (
            "failed",
            "cancelled",
        )


async def test_a_follower_left_by_a_stopping_worker_is_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that stops does not wait for a stage it follows (that may take
    # an hour): the task stays running, unreported, for the queue (or recovery)
    # to hand out again.
    async for pair in _pair(tmp_path, monkeypatch, versions=1):
        job_id = await pair.following()
        pair.runners[1].stop()
        await asyncio.wait_for(asyncio.shield(pair.runs[1]), 5)
        tasks = _tasks(await pair.job(job_id))
        assert tasks["second"].status == "running"
        assert pair.second.processed == []
