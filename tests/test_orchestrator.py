"""Scheduling policy: retries, permanent failures, stale events, cancel, recovery.

The unit under test is the orchestrator with the real queue, runner, storage and
SQLite; the engines are small fakes because scheduling, not inference, is tested
here (every real engine is proven end to end in the API tests).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dalston.db.migrate import upgrade_to_head
from dalston.db.models import Job
from dalston.db.session import create_engine, create_session_factory
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    EngineError,
    EngineRunner,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engine_sdk import runner as runner_module
from dalston.errors import StorageUnavailable, UnsupportedMedia
from dalston.orchestrator import JobStatus, Orchestrator, StageSpec
from dalston.orchestrator.dag import AudioInput
from dalston.orchestrator.orchestrator import new_tasks
from dalston.queue import InProcessQueue, TaskEvent, TaskEventKind, TaskMessage
from dalston.queue.redis_streams import RedisStreamsQueue
from dalston.storage import LocalArtifactStore
from tests.conftest import fresh_database, require_service
from tests.faults import task_holder


class ScriptedEngine(BatchEngine):
    """Fails the first ``fail_times`` calls, then succeeds; can block until released."""

    engine_id = "scripted"
    stage = "work"

    def __init__(
        self, fail_times: int = 0, permanent: bool = False, refuse: bool = False
    ) -> None:
        super().__init__(EngineConfig())
        self.fail_times = fail_times
        self.permanent = permanent
        self.refuse = refuse  # fail as bad input does: a DalstonError
        self.calls = 0
        self.nice: int | None = None
        self.policy: int | None = None
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(engine_id=self.engine_id, stage=self.stage)

    def process(self, task: TaskInput) -> TaskOutput:
        self.calls += 1
        self.nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        self.policy = os.sched_getscheduler(threading.get_native_id())
        self.started.set()
        while not self.release.wait(0.02):
            task.check_cancelled()
        if self.calls <= self.fail_times and self.refuse:
            raise UnsupportedMedia("scripted: not audio", param="file")
        if self.calls <= self.fail_times:
            error = PermanentEngineError if self.permanent else EngineError
            raise error(f"scripted failure {self.calls}")
        return TaskOutput(data={"calls": self.calls, "seen": sorted(task.inputs)})


async def local_state(tmp_path: Path) -> tuple[Any, Any, LocalArtifactStore]:
    """A migrated SQLite database (its engine and sessions) and a local store."""
    db = create_engine(f"sqlite+aiosqlite:///{tmp_path}/o.db")
    await upgrade_to_head(db)
    return db, create_session_factory(db), LocalArtifactStore(tmp_path / "artifacts")


@dataclass
class JobRows:
    """Jobs made of given stages, their rows as the database has them, and
    waiting for their status."""

    sessions: Any
    orchestrator: Orchestrator

    async def start(self, specs: list[StageSpec]) -> str:
        job_id = str(uuid.uuid4())
        async with self.sessions() as session, session.begin():
            session.add(
                Job(id=job_id, tenant_id="t", status="pending", model="m", params={})
            )
            await session.flush()
            session.add_all(
                new_tasks(job_id, specs, [str(uuid.uuid4()) for _ in specs])
            )
        await self.orchestrator.start_job(job_id)
        return job_id

    async def job(self, job_id: str) -> Job:
        async with self.sessions() as session:
            job: Job = await session.scalar(
                select(Job).where(Job.id == job_id).options(selectinload(Job.tasks))
            )
            return job

    async def wait(self, job_id: str, *statuses: JobStatus) -> Job:
        for _ in range(500):
            job = await self.job(job_id)
            if job.status in statuses:
                return job
            await asyncio.sleep(0.02)
        raise AssertionError(f"job stuck in {job.status}")


@dataclass
class Harness(JobRows):
    queue: InProcessQueue
    engine: ScriptedEngine
    runner: EngineRunner

    async def submit(self, stages: int = 1) -> str:
        specs = [
            StageSpec(
                f"s{i}",
                "scripted",
                depends_on=(f"s{i - 1}",) if i else (),
                audio=AudioInput.NONE,
            )
            for i in range(stages)
        ]
        return await self.start(specs)


async def _harness(
    tmp_path: Path,
    engine: ScriptedEngine,
    thread_nice: int = 0,
    thread_idle: bool = False,
) -> AsyncIterator[Harness]:
    db, sessions, storage = await local_state(tmp_path)
    queue = InProcessQueue()
    orchestrator = Orchestrator(
        session_factory=sessions,
        storage=storage,
        queue=queue,
        max_retries=2,
        retry_backoff_s=0.01,
    )
    runner = EngineRunner(
        engine, queue, storage, thread_nice=thread_nice, thread_idle=thread_idle
    )
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(orchestrator.run())]
    try:
        yield Harness(sessions, orchestrator, queue, engine, runner)
    finally:
        engine.release.set()
        runner.stop()
        orchestrator.stop()
        await asyncio.gather(*tasks)
        await db.dispose()


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, ScriptedEngine(fail_times=2)):
        yield h


@pytest.fixture
async def always_failing(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, ScriptedEngine(fail_times=99)):
        yield h


@pytest.fixture
async def bad_input(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, ScriptedEngine(fail_times=99, permanent=True)):
        yield h


@pytest.fixture
async def healthy(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path, ScriptedEngine()):
        yield h


async def test_input_refusals_keep_their_code_on_the_job(tmp_path: Path) -> None:
    """A DalstonError from an engine is the input's fault: not retried, and the
    job keeps its code (the sync dialects answer it as a 4xx); an engine's own
    permanent error leaves no code (a 500 there)."""
    engine = ScriptedEngine(fail_times=99, refuse=True)
    async for h in _harness(tmp_path, engine):
        job = await h.wait(await h.submit(stages=2), JobStatus.FAILED)
        assert engine.calls == 1
        assert job.error_code == "unsupported_media"
        assert job.tasks[0].error_code == "unsupported_media"
        assert job.error == "stage s0 failed: scripted: not audio"


async def test_engine_threads_run_below_the_server(tmp_path: Path) -> None:
    """An embedded server's engine threads are niced, so that answering requests
    comes before inference when both want the CPU."""
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    engine = ScriptedEngine()
    async for h in _harness(tmp_path, engine, thread_nice=5):
        await h.wait(await h.submit(), JobStatus.FAILED, JobStatus.COMPLETED)
        assert engine.nice == min(own + 5, 19)
        assert engine.policy == os.sched_getscheduler(0)  # not idle unless asked


async def test_engine_threads_can_take_only_idle_cores(tmp_path: Path) -> None:
    """Beside live streams, engine threads run under SCHED_IDLE (and niced)."""
    engine = ScriptedEngine()
    async for h in _harness(tmp_path, engine, thread_nice=5, thread_idle=True):
        await h.wait(await h.submit(), JobStatus.FAILED, JobStatus.COMPLETED)
        assert engine.policy == os.SCHED_IDLE
        assert engine.nice is not None and engine.nice >= 5


async def test_permanent_engine_errors_leave_no_input_code(bad_input: Harness) -> None:
    job = await bad_input.wait(await bad_input.submit(), JobStatus.FAILED)
    assert job.error_code is None and job.tasks[0].error_code is None


async def test_transient_failures_are_retried(flaky: Harness) -> None:
    job_id = await flaky.submit()
    job = await flaky.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    # The stage has no assembler output ("prepare"/"transcribe"), so the job fails at
    # assembly; what matters here is that the task itself succeeded on try 3.
    task = job.tasks[0]
    assert task.status == "succeeded"
    assert task.attempts == 3
    assert flaky.engine.calls == 3


async def test_retries_are_bounded(always_failing: Harness) -> None:
    job_id = await always_failing.submit()
    job = await always_failing.wait(job_id, JobStatus.FAILED)
    assert always_failing.engine.calls == 3  # 1 try + max_retries=2
    assert job.tasks[0].status == "failed"
    assert "scripted failure 3" in (job.error or "")


async def test_permanent_errors_are_not_retried(bad_input: Harness) -> None:
    job_id = await bad_input.submit(stages=2)
    job = await bad_input.wait(job_id, JobStatus.FAILED)
    assert bad_input.engine.calls == 1
    assert [t.status for t in job.tasks] == ["failed", "cancelled"]


async def test_dependencies_run_in_order_and_see_outputs(healthy: Harness) -> None:
    job_id = await healthy.submit(stages=3)
    job = await healthy.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    assert [t.status for t in job.tasks] == ["succeeded"] * 3
    starts = [t.started_at for t in job.tasks]
    assert starts == sorted(starts)  # type: ignore[type-var]


async def test_stale_and_duplicate_events_change_nothing(healthy: Harness) -> None:
    job_id = await healthy.submit()
    job = await healthy.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    task = job.tasks[0]
    for attempt in (task.attempts, task.attempts - 1, task.attempts + 1):
        await healthy.orchestrator.handle_event(
            TaskEvent(TaskEventKind.FAILED, task.id, job_id, attempt, error="late")
        )
    again = await healthy.job(job_id)
    assert again.status == job.status
    assert again.tasks[0].status == "succeeded"
    assert again.tasks[0].attempts == task.attempts


async def test_an_outcome_that_overtakes_its_start_still_counts(
    healthy: Harness,
) -> None:
    """Two orchestrators: one may apply SUCCEEDED while the other still holds the
    task's STARTED. The outcome must count, and the late start change nothing."""
    healthy.runner.stop()  # nobody takes the task: it stays queued
    await asyncio.sleep(0.05)
    job_id = await healthy.submit()
    task = (await healthy.job(job_id)).tasks[0]
    assert task.status == "queued"
    key = f"jobs/{job_id}/tasks/{task.id}.json"
    await healthy.orchestrator.storage.put_bytes(key, b'{"calls": 1, "seen": []}')
    await healthy.orchestrator.handle_event(
        TaskEvent(TaskEventKind.SUCCEEDED, task.id, job_id, task.attempts, key)
    )
    await healthy.orchestrator.handle_event(
        TaskEvent(TaskEventKind.STARTED, task.id, job_id, task.attempts)
    )
    job = await healthy.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    done = job.tasks[0]
    assert done.status == "succeeded" and done.output_key == key
    assert done.started_at is not None and done.completed_at is not None
    assert job.started_at is not None


def _record_events(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> list[TaskEvent]:
    events: list[TaskEvent] = []
    put = harness.queue.put_event

    async def recorded(event: TaskEvent) -> None:
        events.append(event)
        await put(event)

    monkeypatch.setattr(harness.queue, "put_event", recorded)
    return events


async def test_a_short_task_sends_no_start_its_outcome_dates_it(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task that ends before ``_STARTED_AFTER_S`` sends no STARTED (a transaction
    the orchestrator would run beside the stage); its outcome says how long it
    ran, and the start is dated from that."""
    monkeypatch.setattr(runner_module, "_STARTED_AFTER_S", 5.0)
    events = _record_events(healthy, monkeypatch)
    healthy.engine.release.clear()
    job_id = await healthy.submit()
    await asyncio.to_thread(healthy.engine.started.wait, 5)
    await asyncio.sleep(0.3)
    assert (await healthy.job(job_id)).tasks[0].status == "queued"  # no STARTED
    healthy.engine.release.set()
    # (This harness's job fails at assembly, having no prepare stage.)
    job = await healthy.wait(job_id, JobStatus.COMPLETED, JobStatus.FAILED)
    assert [e.kind for e in events] == [TaskEventKind.SUCCEEDED]
    assert events[0].ran_s is not None and events[0].ran_s >= 0.3
    task = job.tasks[0]
    assert task.status == "succeeded"
    assert task.started_at is not None and task.completed_at is not None
    assert (task.completed_at - task.started_at).total_seconds() >= 0.3
    assert job.started_at == task.started_at


async def test_a_longer_task_is_running_once_started_after_s_is_up(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "_STARTED_AFTER_S", 0.2)
    events = _record_events(healthy, monkeypatch)
    healthy.engine.release.clear()
    job_id = await healthy.submit()
    await asyncio.to_thread(healthy.engine.started.wait, 5)
    job = await healthy.wait(job_id, JobStatus.RUNNING)  # while the task runs
    assert [e.kind for e in events] == [TaskEventKind.STARTED]
    assert events[0].ran_s is not None and events[0].ran_s >= 0.2
    assert job.tasks[0].status == "running"
    healthy.engine.release.set()
    job = await healthy.wait(job_id, JobStatus.COMPLETED, JobStatus.FAILED)
    assert [e.kind for e in events] == [TaskEventKind.STARTED, TaskEventKind.SUCCEEDED]
    task = job.tasks[0]
    assert task.started_at is not None and task.completed_at is not None
    assert (task.completed_at - task.started_at).total_seconds() >= 0.2


async def test_cancel_stops_a_running_task(healthy: Harness) -> None:
    healthy.engine.release.clear()
    job_id = await healthy.submit(stages=2)
    await asyncio.to_thread(healthy.engine.started.wait, 5)
    await healthy.wait(job_id, JobStatus.RUNNING)
    assert await healthy.orchestrator.cancel_job(job_id) == JobStatus.CANCELLING
    job = await healthy.wait(job_id, JobStatus.CANCELLED)
    assert [t.status for t in job.tasks] == ["cancelled", "cancelled"]
    assert healthy.engine.calls == 1


async def test_recover_redispatches_interrupted_work(tmp_path: Path) -> None:
    engine = ScriptedEngine()
    engine.release.clear()
    gen = _harness(tmp_path, engine)
    first = await gen.__anext__()
    job_id = await first.submit()
    await asyncio.to_thread(engine.started.wait, 5)
    await first.wait(job_id, JobStatus.RUNNING)  # its STARTED came
    first.runner.stop(abandon=True)  # the process "dies" mid-task
    first.orchestrator.stop()
    await gen.aclose()
    assert (await first.job(job_id)).tasks[0].status == "running"

    engine2 = ScriptedEngine()
    async for second in _harness(tmp_path, engine2):
        await second.orchestrator.recover()
        job = await second.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
        assert job.tasks[0].status == "succeeded"
        assert job.tasks[0].attempts == 2


async def test_recovery_fails_a_job_whose_stage_output_is_gone(tmp_path: Path) -> None:
    """One job's finished stage output vanished from storage: recovery fails that
    job with a clear error, and the other unfinished jobs still run."""
    async for h in _harness(tmp_path, ScriptedEngine()):
        broken, healthy = str(uuid.uuid4()), str(uuid.uuid4())
        specs = [
            StageSpec("s0", "scripted", audio=AudioInput.NONE),
            StageSpec("s1", "scripted", depends_on=("s0",), audio=AudioInput.NONE),
        ]
        async with h.sessions() as session, session.begin():  # type: ignore[operator]
            for job_id in (broken, healthy):
                session.add(Job(id=job_id, tenant_id="t", status="pending", model="m"))
            await session.flush()
            tasks = new_tasks(broken, specs, [str(uuid.uuid4()) for _ in specs])
            tasks[0].status = "succeeded"
            tasks[0].attempts = 1
            tasks[0].output_key = f"jobs/{broken}/stages/s0.json"  # never stored
            session.add_all(tasks)
            session.add_all(
                new_tasks(healthy, specs, [str(uuid.uuid4()) for _ in specs])
            )
        await h.orchestrator.recover()
        failed = await h.wait(broken, JobStatus.FAILED, JobStatus.COMPLETED)
        assert failed.status == JobStatus.FAILED
        assert failed.error and "no longer stored" in failed.error
        assert f"jobs/{broken}/stages/s0.json" in failed.error
        assert [t.status for t in failed.tasks] == ["succeeded", "cancelled"]
        # The other job ran both stages (assembling a scripted output then fails).
        done = await h.wait(healthy, JobStatus.FAILED, JobStatus.COMPLETED)
        assert [t.status for t in done.tasks] == ["succeeded", "succeeded"]


# --- durable retry delays ----------------------------------------------------------
async def _one_task_job(sessions: Any, orchestrator: Orchestrator) -> tuple[str, str]:
    """A job of one "scripted" stage, started (its task queued): (job, task) ids."""
    job_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    spec = StageSpec("s0", "scripted", audio=AudioInput.NONE)
    async with sessions() as session, session.begin():
        session.add(
            Job(id=job_id, tenant_id="t", status="pending", model="m", params={})
        )
        await session.flush()
        session.add_all(new_tasks(job_id, [spec], [task_id]))
    await orchestrator.start_job(job_id)
    return job_id, task_id


async def _on_database(
    database_url: str, tmp_path: Path, **options: Any
) -> tuple[Any, Any, Orchestrator]:
    """An orchestrator (in-process queue) on a migrated database: (engine,
    sessions, orchestrator)."""
    db = create_engine(database_url)
    await upgrade_to_head(db)
    sessions = create_session_factory(db)
    orchestrator = Orchestrator(
        session_factory=sessions,
        storage=LocalArtifactStore(tmp_path / "artifacts"),
        queue=InProcessQueue(),
        **options,
    )
    return db, sessions, orchestrator


async def _failed_once(database_url: str, tmp_path: Path) -> tuple[Any, str, str]:
    """A job whose only task failed (retriable) under an orchestrator that then
    died: the retry is due 0.3 s later. Returns (sessions, job id, task id)."""
    db, sessions, scheduler = await _on_database(
        database_url, tmp_path, retry_backoff_s=0.3
    )
    job_id, task_id = await _one_task_job(sessions, scheduler)
    for kind in (TaskEventKind.STARTED, TaskEventKind.FAILED):
        await scheduler.handle_event(TaskEvent(kind, task_id, job_id, 1, error="x"))
    return (sessions, db), job_id, task_id  # the scheduler is gone: no timer left


def _fresh_orchestrator(sessions: Any, tmp_path: Path) -> tuple[Orchestrator, Any]:
    queue = InProcessQueue()
    orchestrator = Orchestrator(
        session_factory=sessions,
        storage=LocalArtifactStore(tmp_path / "artifacts"),
        queue=queue,
        retry_backoff_s=0.3,
    )
    return orchestrator, queue


async def test_a_retry_outlives_the_orchestrator_that_scheduled_it(
    tmp_path: Path,
) -> None:
    (sessions, db), job_id, task_id = await _failed_once(
        f"sqlite+aiosqlite:///{tmp_path}/r.db", tmp_path
    )
    fresh, queue = _fresh_orchestrator(sessions, tmp_path)
    assert await fresh.dispatch_due_retries() == 0  # not due yet
    assert await queue.get_task("scripted", timeout=0.01) is None
    runner = asyncio.create_task(fresh.run())  # its own loop finds it once due
    try:
        message = await queue.get_task("scripted", timeout=3.0)
    finally:
        fresh.stop()
        await runner
    assert message is not None and message.task_id == task_id and message.attempt == 2
    async with sessions() as session:
        job = await session.scalar(
            select(Job).where(Job.id == job_id).options(selectinload(Job.tasks))
        )
    assert job.tasks[0].status == "queued" and job.tasks[0].not_before is None
    await db.dispose()


@pytest.fixture
def own_database() -> Iterator[str]:
    """A PostgreSQL database of its own: an orchestrator advances every due job
    it finds, and must not touch other tests' jobs."""
    with fresh_database() as url:
        yield url


@pytest.mark.postgres
async def test_two_orchestrators_dispatch_a_due_retry_once(
    tmp_path: Path, own_database: str
) -> None:
    (sessions, db), _job_id, task_id = await _failed_once(own_database, tmp_path)
    await asyncio.sleep(0.35)
    shared = InProcessQueue()
    pair = [
        Orchestrator(
            session_factory=sessions,
            storage=LocalArtifactStore(tmp_path / "artifacts"),
            queue=shared,
            retry_backoff_s=0.3,
        )
        for _ in range(2)
    ]
    dispatched = await asyncio.gather(*(o.dispatch_due_retries() for o in pair))
    assert sum(dispatched) >= 1, dispatched
    first = await shared.get_task("scripted", timeout=5)
    assert first is not None and first.task_id == task_id
    assert await shared.get_task("scripted", timeout=0.2) is None
    await db.dispose()


@pytest.mark.postgres
async def test_a_start_waits_for_the_job_lock_before_it_touches_the_task(
    tmp_path: Path, own_database: str
) -> None:
    """A task's STARTED and its outcome applied by two orchestrators at once: the
    outcome's transaction holds the job's row and then updates the task. The
    start must take the job's row first too, or each waits on the other and
    PostgreSQL breaks the deadlock by failing one (seen in CI with two
    orchestrators)."""
    from sqlalchemy import update

    from dalston.db.models import Task

    db, sessions, orchestrator = await _on_database(own_database, tmp_path)
    job_id, task_id = await _one_task_job(sessions, orchestrator)
    try:
        async with sessions() as session, session.begin():
            await session.execute(
                select(Job.id).where(Job.id == job_id).with_for_update()
            )
            start = asyncio.create_task(
                orchestrator.handle_event(
                    TaskEvent(TaskEventKind.STARTED, task_id, job_id, 1)
                )
            )
            await asyncio.sleep(0.3)  # the start is under way, waiting on a lock
            assert not start.done()
            # What an outcome does next: the task's row (a deadlock if the
            # start held it).
            await session.execute(
                update(Task).where(Task.id == task_id).values(progress=0.5)
            )
        await asyncio.wait_for(start, 10)
        async with sessions() as session:
            task = await session.get(Task, task_id)
        assert task is not None and task.status == "running"
    finally:
        await db.dispose()


# --- a dead worker's task, on Redis Streams ------------------------------------------
async def test_a_dead_workers_task_runs_again_as_a_counted_attempt(
    tmp_path: Path,
) -> None:
    """A worker killed mid-task: its liveness key expires (1 s), the orchestrator
    dispatches the task again as attempt 2, long before the 60 s visibility
    timeout, and another worker finishes it."""
    require_service("Redis", "127.0.0.1", 6379)
    url, prefix = "redis://127.0.0.1:6379/0", f"dalston-test-{uuid.uuid4().hex[:8]}"

    def queue() -> RedisStreamsQueue:
        return RedisStreamsQueue(
            url, prefix=prefix, visibility_timeout_s=60, consumer_ttl_s=1.0
        )

    db, sessions, storage = await local_state(tmp_path)
    orchestrator_queue, worker_queue = queue(), queue()
    orchestrator = Orchestrator(
        session_factory=sessions, storage=storage, queue=orchestrator_queue
    )
    engine = ScriptedEngine()
    runner = EngineRunner(engine, worker_queue, storage)
    h = Harness(sessions, orchestrator, InProcessQueue(), engine, runner)
    loop = asyncio.create_task(orchestrator.run())
    try:
        job_id = await h.submit()  # queued; no worker but the doomed one yet
        async with task_holder(url, prefix, "scripted") as doomed:
            doomed.kill()
        started = time.monotonic()
        serving = asyncio.create_task(runner.run())
        job = await h.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
        took = time.monotonic() - started
        runner.stop()
        await serving
    finally:
        orchestrator.stop()
        await loop
        keys = [k async for k in worker_queue.redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await worker_queue.redis.delete(*keys)
        for q in (orchestrator_queue, worker_queue):
            await q.aclose()
        await db.dispose()
    assert job.tasks[0].status == "succeeded"
    assert job.tasks[0].attempts == 2  # the API shows it as one retry
    assert engine.calls == 1
    assert took < 10, took


class _UnreachableStore(LocalArtifactStore):
    def local_path(self, key: str) -> Any:
        raise StorageUnavailable("the artifact store failed: timed out")


async def test_a_task_whose_audio_cannot_be_read_fails_retriably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage away while a worker fetches a task's audio: the worker waits for
    it a while, then the task fails as worth another try (the orchestrator
    retries it), not silently dropped."""
    from dalston.engine_sdk import runner as runner_module

    monkeypatch.setattr(runner_module, "STORAGE_PATIENCE_S", 0.5)
    queue = InProcessQueue()
    runner = EngineRunner(ScriptedEngine(), queue, _UnreachableStore(tmp_path))
    serving = asyncio.create_task(runner.run())
    try:
        await queue.put_task(
            TaskMessage("t", "j", "work", "scripted", 1, audio_key="jobs/j/a.wav")
        )
        event = await queue.get_event(timeout=5)
    finally:
        runner.stop()
        await serving
    assert event is not None and event.kind is TaskEventKind.FAILED
    assert event.retriable and event.error and "timed out" in event.error


def _db_blip() -> Exception:
    from sqlalchemy.exc import OperationalError

    return OperationalError("COMMIT", {}, ConnectionError("server closed"))


async def test_outcome_whose_handling_fails_is_applied_once_later(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away while a stage's outcome is handled, after it was
    recorded on the rows but before the next stage was dispatched: nothing
    commits, the event stays unacked and is handled again once the database is
    back, and the job moves on; every stage ran once. (Before: the event was
    acked, and the job sat running for good.)"""
    orchestrator = healthy.orchestrator
    progress = orchestrator._progress
    blips = {"left": 2}

    async def flaky_progress(job: Job) -> Any:
        if blips["left"] and job.tasks[0].status == "succeeded":
            blips["left"] -= 1
            raise _db_blip()
        return await progress(job)

    monkeypatch.setattr(orchestrator, "_progress", flaky_progress)
    job_id = await healthy.submit(stages=3)
    job = await healthy.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    assert blips["left"] == 0
    assert [t.status for t in job.tasks] == ["succeeded"] * 3
    assert [t.attempts for t in job.tasks] == [1, 1, 1]
    assert healthy.engine.calls == 3


async def test_no_message_for_a_dispatch_that_did_not_commit(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispatch whose transaction fails puts nothing on the queue (before, the
    message went out first: a worker ran a task the database still called
    waiting, its events were stale, and the job hung)."""
    orchestrator = healthy.orchestrator
    enqueue = orchestrator._enqueue
    blips = {"left": 1}

    async def enqueue_then_fail(job: Job, task: Any) -> TaskMessage:
        message = await enqueue(job, task)
        if blips["left"] and task.stage == "s1":
            blips["left"] -= 1
            raise _db_blip()  # the transaction rolls back
        return message

    monkeypatch.setattr(orchestrator, "_enqueue", enqueue_then_fail)
    job_id = await healthy.submit(stages=2)
    job = await healthy.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    assert blips["left"] == 0
    assert [t.status for t in job.tasks] == ["succeeded"] * 2
    assert [t.attempts for t in job.tasks] == [1, 1]
    assert healthy.engine.calls == 2


async def test_a_fault_in_handling_fails_the_job_instead_of_hanging(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator = healthy.orchestrator

    def broken_apply(*args: Any) -> bool:
        raise ValueError("a bug")

    monkeypatch.setattr(orchestrator, "_apply", broken_apply)
    job_id = await healthy.submit()
    job = await healthy.wait(job_id, JobStatus.FAILED)
    assert "ValueError: a bug" in (job.error or "")


async def test_a_dispatch_lost_in_a_crash_is_published_by_recovery(
    tmp_path: Path,
) -> None:
    """The orchestrator dies after committing a task as queued but before its
    message reached Redis: the next orchestrator's recovery puts it there, once
    (however often it recovers), and the job completes on its first attempt."""
    require_service("Redis", "127.0.0.1", 6379)
    url, prefix = "redis://127.0.0.1:6379/0", f"dalston-test-{uuid.uuid4().hex[:8]}"
    db, sessions, storage = await local_state(tmp_path)
    queue = RedisStreamsQueue(url, prefix=prefix)
    crashed = Orchestrator(session_factory=sessions, storage=storage, queue=queue)

    async def lost(message: TaskMessage) -> None:
        pass  # the process died here: committed, never published

    crashed._publish = lost  # type: ignore[method-assign]
    engine = ScriptedEngine()
    h = Harness(
        sessions,
        crashed,
        InProcessQueue(),
        engine,
        EngineRunner(engine, queue, storage),
    )
    job_id = await h.submit()
    assert (await h.job(job_id)).tasks[0].status == "queued"
    assert await queue.get_task("scripted", timeout=0.2) is None
    successor = Orchestrator(session_factory=sessions, storage=storage, queue=queue)
    await successor.recover(redispatch_inflight=False)
    await successor.recover(redispatch_inflight=False)  # a second restart
    loop = asyncio.create_task(successor.run())
    serving = asyncio.create_task(h.runner.run())
    try:
        job = await h.wait(job_id, JobStatus.FAILED, JobStatus.COMPLETED)
    finally:
        h.runner.stop()
        successor.stop()
        await asyncio.gather(serving, loop)
        keys = [k async for k in queue.redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await queue.redis.delete(*keys)
        await queue.aclose()
        await db.dispose()
    assert job.tasks[0].status == "succeeded" and job.tasks[0].attempts == 1
    assert engine.calls == 1  # published once, run once


async def test_a_due_retry_whose_dispatch_fails_fails_its_job(
    healthy: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A due task whose dispatch raises a fault (not an outage) fails its job with
    the reason, and the other due jobs of the sweep are still dispatched (before:
    the sweep raised for good, the job hung running and the ones after it too)."""
    orchestrator = healthy.orchestrator
    advance = orchestrator._advance
    doomed: set[str] = set()

    async def broken_for_one(job_id: str) -> None:
        if job_id in doomed:
            raise ValueError("a bug in dispatch")
        await advance(job_id)

    async def not_started(job_id: str) -> None:
        pass  # the sweep of due tasks dispatches the new jobs

    monkeypatch.setattr(orchestrator, "start_job", not_started)
    bad = await healthy.submit()
    doomed.add(bad)
    monkeypatch.setattr(orchestrator, "_advance", broken_for_one)
    good = await healthy.submit()
    failed = await healthy.wait(bad, JobStatus.FAILED)
    assert "ValueError: a bug in dispatch" in (failed.error or "")
    other = await healthy.wait(good, JobStatus.FAILED, JobStatus.COMPLETED)
    assert other.tasks[0].status == "succeeded"
