"""Runs each job's stage graph: dispatches ready tasks, applies task events,
retries transient failures, finalises or fails jobs, and recovers after a restart.

All job/task state changes go through this class, under one lock per process and
row locks in the database, so a late or duplicated event changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import object_session, selectinload

from dalston import telemetry
from dalston.db.models import Job, Task, WebhookEvent, utcnow
from dalston.errors import is_transient
from dalston.loops import LoopHealth
from dalston.orchestrator.assemble import assemble_transcript
from dalston.orchestrator.dag import AudioInput, StageSpec, followed_stage
from dalston.orchestrator.states import (
    JobStatus,
    TaskStatus,
    check_job_move,
    check_task_move,
)
from dalston.queue.base import TaskEvent, TaskEventKind, TaskMessage, TaskQueue
from dalston.storage.base import ArtifactStore, job_prefix, partial_key

log = logging.getLogger(__name__)

_EVENT_POLL_S = 0.5
# How often the queue is asked for tasks that dead workers held.
_ORPHAN_SWEEP_S = 1.0
# A job parameter: remove the job as soon as it finishes (set by
# JobService.purge_once_finished; the retention sweep does the removing).
PURGE_WHEN_FINISHED = "purge_when_finished"
# A job parameter: the trace context of the request that made the job, so work
# dispatched later without one (a retry, a recovery after a crash) joins its trace.
JOB_TRACEPARENT = "traceparent"


def transcript_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}transcript.json"


def new_tasks(
    job_id: str, specs: Sequence[StageSpec], ids: Sequence[str]
) -> list[Task]:
    """Task rows for a new job, waiting on their dependencies.

    The first stages are due at once (``not_before``): ``start_job`` dispatches
    them, and if it never runs (the submitting process died, the queue was away)
    any orchestrator's sweep of due tasks does."""
    by_stage = dict(zip((s.stage for s in specs), ids, strict=True))
    now = utcnow()
    return [
        Task(
            id=by_stage[spec.stage],
            job_id=job_id,
            stage=spec.stage,
            engine_id=spec.engine_id,
            position=position,
            depends_on=list(spec.depends_on),
            audio_input=spec.audio.value,
            status=TaskStatus.WAITING,
            not_before=None if spec.depends_on else now,
            attempts=0,
        )
        for position, spec in enumerate(specs)
    ]


class Orchestrator:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        storage: ArtifactStore,
        queue: TaskQueue,
        max_retries: int = 2,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.sessions = session_factory
        self.storage = storage
        self.queue = queue
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        # One lock per job (in this process): work on different jobs overlaps;
        # across processes the job's row lock (FOR UPDATE) serialises.
        self._job_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._stopping = asyncio.Event()
        # How often due retries are looked for: well under the shortest backoff.
        self.sweep_interval_s = min(max(retry_backoff_s / 2, 0.05), _EVENT_POLL_S)
        # Set (and replaced) whenever a job's rows change, to wake waiters at once.
        self._changed: dict[str, asyncio.Event] = {}
        self._redispatch_inflight = True
        self.health = LoopHealth("orchestrator")

    # --- lifecycle ------------------------------------------------------------
    async def run(self) -> None:
        """Apply task events, and dispatch retries once due, until ``stop()``.

        Survives its connections: a failing round (queue or database away) is
        recorded in ``self.health`` and retried after a backoff; the loop never
        ends before ``stop()``."""
        next_sweep = next_orphan_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_sweep:
                    await self.dispatch_due_retries()
                    next_sweep = loop.time() + self.sweep_interval_s
                if loop.time() >= next_orphan_sweep:
                    await self.redispatch_orphaned_tasks()
                    next_orphan_sweep = loop.time() + _ORPHAN_SWEEP_S
                event = await self.queue.get_event(timeout=self.sweep_interval_s)
                if event is not None:
                    await self._apply_event(event)
            except Exception as exc:
                await self.health.failed(exc, stopping=self._stopping)
                continue
            self.health.succeeded()

    async def _apply_event(self, event: TaskEvent) -> None:
        """Apply one event, then ack it: never acked before it is applied.

        A transient failure (database, queue or storage away) is retried with
        backoff, the event unacked meanwhile (on stop it stays unacked, for the
        next orchestrator). Any other failure is a fault that would repeat: the
        job fails with a clear error instead of hanging, and the event is acked.
        """
        while True:
            try:
                await self.handle_event(event)
                break
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("handling %s failed", event)
                    await self._fail_unrecoverable(
                        event.job_id,
                        f"handling the {event.kind.value} event of "
                        f"task {event.task_id} failed: {type(exc).__name__}: {exc}",
                    )
                    break
                await self.health.failed(exc, stopping=self._stopping)
                if self._stopping.is_set():
                    return
        self.health.succeeded()
        await self.queue.ack_event(event)

    def stop(self) -> None:
        self._stopping.set()

    def _lock(self, job_id: str) -> asyncio.Lock:
        """The job's lock, alive while anyone holds or waits for it."""
        lock = self._job_locks.get(job_id)
        if lock is None:
            lock = self._job_locks[job_id] = asyncio.Lock()
        return lock

    async def dispatch_due_retries(self) -> int:
        """Advance every job with a waiting retry whose backoff has passed.

        Any orchestrator runs this (several may, at once): ``_advance`` takes
        the job's row lock and dispatches a task only while it is still
        waiting, so a due retry is enqueued once.
        """
        async with self.sessions() as session:
            job_ids = (
                await session.scalars(
                    select(Task.job_id)
                    .where(
                        Task.status == TaskStatus.WAITING,
                        Task.not_before.is_not(None),
                        Task.not_before <= utcnow(),
                    )
                    .distinct()
                )
            ).all()
        for job_id in job_ids:
            try:
                async with self._lock(job_id):
                    await self._advance(job_id)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the loop backs off and sweeps again
                # A fault that would repeat: the job fails with it instead of
                # hanging (and keeping the jobs after it in the sweep waiting).
                log.exception("dispatching the due tasks of job %s failed", job_id)
                await self._fail_unrecoverable(
                    job_id,
                    f"dispatching a due task failed: {type(exc).__name__}: {exc}",
                )
        return len(job_ids)

    async def redispatch_orphaned_tasks(self) -> int:
        """Dispatch again, as a new attempt, each task whose worker died holding
        it (the queue knows the dead before any visibility timeout); the dead
        worker's message is acked once its task has moved on. Late events of the
        dead attempt are then stale and change nothing."""
        orphans = await self.queue.take_orphaned_tasks()
        for message in orphans:
            async with self._lock(message.job_id):
                async with self.sessions() as session, session.begin():
                    job = await self._load_job(session, message.job_id)
                    task = _find_task(job, message.task_id)
                    interrupted = (
                        task is not None
                        and task.attempts == message.attempt
                        and task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
                    )
                    if task is not None and interrupted:
                        log.warning(
                            "task %s (%s) of job %s: its worker died; dispatching "
                            "it again",
                            task.id,
                            task.stage,
                            message.job_id,
                        )
                        _move_task(task, TaskStatus.WAITING)
                if interrupted:
                    await self._advance(message.job_id)
            self._notify(message.job_id)
            await self.queue.ack_task(message)
        return len(orphans)

    async def recover(self, *, redispatch_inflight: bool = True) -> None:
        """Move unfinished jobs on after a restart or crash.

        ``redispatch_inflight``: queued and running tasks are dispatched again. Right
        for the in-process queue, which lost them with the process; a durable queue
        (Redis Streams) still holds them and hands them out again by itself.
        """
        self._redispatch_inflight = redispatch_inflight
        async with self.sessions() as session:
            ids = (
                await session.scalars(
                    select(Job.id).where(
                        Job.status.in_(
                            [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.CANCELLING]
                        )
                    )
                )
            ).all()
        failed = 0
        for job_id in ids:
            # One bad job must not keep the others (or the process) from starting.
            try:
                async with self._lock(job_id):
                    await self._recover_job(job_id)
            except KeyError as missing:
                failed += 1
                reason = f"an input of the job is no longer stored: {missing}"
                log.error("recovering job %s: %s", job_id, reason)
                await self._fail_unrecoverable(job_id, reason)
            except Exception:
                failed += 1
                log.exception("recovering job %s failed; left for later", job_id)
        if ids:
            log.info(
                "recovered %d unfinished job(s), %d could not be", len(ids), failed
            )

    async def _fail_unrecoverable(self, job_id: str, reason: str) -> None:
        """Fail a job whose inputs are gone: its unfinished tasks are cancelled."""
        async with self._lock(job_id):
            async with self.sessions() as session, session.begin():
                job = await self._load_job(session, job_id)
                if job is None or JobStatus(job.status).is_terminal:
                    return
                for task in job.tasks:
                    if not TaskStatus(task.status).is_terminal:
                        _move_task(task, TaskStatus.CANCELLED)
                        task.completed_at = utcnow()
                if job.status == JobStatus.CANCELLING:
                    _move_job(job, JobStatus.CANCELLED)
                else:
                    _fail(job, reason)
            await self.queue.cancel_job(job_id)
        self._notify(job_id)

    async def _recover_job(self, job_id: str) -> None:
        async with self.sessions() as session, session.begin():
            job = await self._load_job(session, job_id)
            if job is None:
                return
            if job.status == JobStatus.CANCELLING:
                for task in job.tasks:
                    if not TaskStatus(task.status).is_terminal:
                        _move_task(task, TaskStatus.CANCELLED)
                        task.completed_at = utcnow()
                _move_job(job, JobStatus.CANCELLED)
                return
            republish: list[TaskMessage] = []
            for task in job.tasks:
                if self._redispatch_inflight:
                    if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
                        # The in-flight try was lost with the process: again.
                        _move_task(task, TaskStatus.WAITING)
                elif task.status == TaskStatus.QUEUED:
                    # Committed as queued, but its message may never have been
                    # put (a crash in between): put this attempt again; the
                    # queue keeps one per attempt.
                    republish.append(await self._message(job, task))
        for message in republish:
            await self._publish(message)
        await self._advance(job_id)

    # --- commands -------------------------------------------------------------
    async def start_job(self, job_id: str) -> None:
        async with self._lock(job_id):
            await self._advance(job_id)
        self._notify(job_id)

    async def cancel_job(self, job_id: str) -> JobStatus:
        """Cancel queued work at once; running tasks stop at their next check."""
        async with self._lock(job_id):
            async with self.sessions() as session, session.begin():
                job = await self._load_job(session, job_id)
                if job is None:
                    raise KeyError(job_id)
                status = JobStatus(job.status)
                if status.is_terminal or status is JobStatus.CANCELLING:
                    return status
                running = False
                for task in job.tasks:
                    if task.status == TaskStatus.RUNNING:
                        running = True
                    elif not TaskStatus(task.status).is_terminal:
                        _move_task(task, TaskStatus.CANCELLED)
                        task.completed_at = utcnow()
                _move_job(job, JobStatus.CANCELLING if running else JobStatus.CANCELLED)
                new_status = JobStatus(job.status)
            await self.queue.cancel_job(job_id)
        self._notify(job_id)
        return new_status

    # --- events ---------------------------------------------------------------
    async def handle_event(self, event: TaskEvent) -> None:
        token = telemetry.attach_traceparent(event.traceparent)
        try:
            await self._handle_event(event)
        finally:
            telemetry.detach(token)

    async def _handle_event(self, event: TaskEvent) -> None:
        if event.kind is TaskEventKind.PROGRESS:
            await self._record_progress(event)
            if event.partial_key is None:
                return
            # Output so far of a stage that another follows: it may start.
            async with self._lock(event.job_id):
                await self._advance(event.job_id)
            self._notify(event.job_id)
            return
        async with self._lock(event.job_id):
            if event.kind is TaskEventKind.STARTED:
                await self._record_start(event)
            else:
                await self._apply_outcome(event)
        self._notify(event.job_id)

    async def _apply_outcome(self, event: TaskEvent) -> None:
        """Record a task's outcome and move its job on (dispatch what it freed,
        or finish the job) in one transaction; the messages go out after it
        commits. Caller holds the job's lock."""
        async with self.sessions() as session, session.begin():
            job = await self._load_job(session, event.job_id)
            task = _find_task(job, event.task_id) if job else None
            if job is None or task is None:
                return  # the job was deleted meanwhile
            applied_before = (
                event.attempt != task.attempts or TaskStatus(task.status).is_terminal
            )
            # A stale or repeated delivery changes nothing (no result is applied
            # twice); it still moves the job on, which heals a job left behind
            # by an earlier handling (another orchestrator's, say).
            retry = False if applied_before else self._apply(job, task, event)
            dispatch = None if retry else await self._progress(job)
        if dispatch is not None:
            await self._dispatch(dispatch)

    async def _record_start(self, event: TaskEvent) -> None:
        """A queued attempt is running (and its job, if pending): two updates,
        no rows loaded. A start of an attempt that has ended or been replaced
        changes nothing, and frees nothing downstream.

        The job's row is locked first, as every other handler does (``_load_job``):
        locking the task first deadlocked with an orchestrator applying the same
        task's outcome (job, then task) on PostgreSQL."""
        now = _started_at(event)
        async with self.sessions() as session, session.begin():
            await session.execute(
                select(Job.id).where(Job.id == event.job_id).with_for_update()
            )
            started = await session.execute(
                update(Task)
                .where(
                    Task.id == event.task_id,
                    Task.attempts == event.attempt,
                    Task.status == TaskStatus.QUEUED,
                )
                .values(status=TaskStatus.RUNNING, started_at=now)
            )
            if getattr(started, "rowcount", 0):
                await session.execute(
                    update(Job)
                    .where(Job.id == event.job_id, Job.status == JobStatus.PENDING)
                    .values(
                        status=JobStatus.RUNNING,
                        started_at=func.coalesce(Job.started_at, now),
                    )
                )

    async def _record_progress(self, event: TaskEvent) -> None:
        """Keep a running attempt's progress; any other (a late one for an attempt
        that has ended, a task gone with its job) changes nothing."""
        if event.progress is None:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Task)
                .where(
                    Task.id == event.task_id,
                    Task.attempts == event.attempt,
                    Task.status.in_((TaskStatus.QUEUED, TaskStatus.RUNNING)),
                )
                .values(progress=min(max(event.progress, 0.0), 1.0))
            )

    def _notify(self, job_id: str) -> None:
        event = self._changed.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait_until_finished(self, job_id: str, timeout: float) -> JobStatus:
        """The job's status once terminal, or its current one after ``timeout`` s.

        Woken by this process's changes; polls too, for jobs that another process
        drives (distributed mode): after 0.1 s, then less often, every second at
        most, so a short job's end is seen soon and a long one costs few reads.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        poll = 0.1
        while True:
            changed = self._changed.setdefault(job_id, asyncio.Event())
            async with self.sessions() as session:
                status = await session.scalar(
                    select(Job.status).where(Job.id == job_id)
                )
            if status is None:
                raise KeyError(job_id)
            remaining = deadline - loop.time()
            if JobStatus(status).is_terminal or remaining <= 0:
                return JobStatus(status)
            try:
                async with asyncio.timeout(min(remaining, poll)):
                    await changed.wait()
            except TimeoutError:
                pass
            poll = min(poll * 1.5, 1.0)

    def _apply(self, job: Job, task: Task, event: TaskEvent) -> bool:
        """Record an outcome (not a start: ``_record_start``) on the rows; True
        when the task should be retried."""
        now = utcnow()
        if task.status == TaskStatus.QUEUED:
            # The outcome overtook its start: with several orchestrators the STARTED
            # event may still sit with another one. Apply the start first; the late
            # STARTED then finds a finished task and changes nothing. (A short
            # task sends no STARTED at all: its outcome dates the start.)
            started = _started_at(event)
            _move_task(task, TaskStatus.RUNNING)
            task.started_at = task.started_at or started
            if job.status == JobStatus.PENDING:
                _move_job(job, JobStatus.RUNNING)
                job.started_at = job.started_at or started
        task.completed_at = now
        if event.kind is TaskEventKind.SUCCEEDED:
            _move_task(task, TaskStatus.SUCCEEDED)
            task.output_key = event.output_key
            task.error = None
            return False
        if event.kind is TaskEventKind.CANCELLED:
            _move_task(task, TaskStatus.CANCELLED)
            return False
        # FAILED
        task.error = event.error
        task.error_code = event.error_code
        cancelling = job.status in (JobStatus.CANCELLING, JobStatus.CANCELLED)
        if event.retriable and task.attempts <= self.max_retries and not cancelling:
            # Waiting again until its backoff has passed (1x, 2x, 4x ...): a
            # stored time, so whichever orchestrator is alive then dispatches it.
            _move_task(task, TaskStatus.WAITING)
            task.completed_at = None
            delay = self.retry_backoff_s * 2 ** max(task.attempts - 1, 0)
            task.not_before = now + timedelta(seconds=delay)
            return True
        _move_task(task, TaskStatus.FAILED)
        return False

    # --- progress -------------------------------------------------------------
    async def _advance(self, job_id: str) -> None:
        """Dispatch ready tasks, or finish the job. Caller holds the lock.

        Tasks are marked queued in the transaction and their messages put on the
        queue only after it commits: a failed commit leaves no message behind
        for a task the database still calls waiting."""
        async with self.sessions() as session, session.begin():
            job = await self._load_job(session, job_id)
            if job is None:
                return
            dispatch = await self._progress(job)
        await self._dispatch(dispatch)

    async def _progress(self, job: Job) -> _Dispatch:
        """Within the caller's transaction, on the loaded (locked) job: mark the
        ready tasks queued, or finish the job once every stage succeeded (its
        transcript assembled and stored). What to put on the queue once the
        transaction commits."""
        # In a request's or an event's context, that one; from a sweep, the job's.
        parent = "" if telemetry.current_traceparent() else _traceparent(job)
        outgoing: list[TaskMessage] = []
        dispatch = _Dispatch(parent, outgoing)
        status = JobStatus(job.status)
        if status.is_terminal:
            return dispatch
        tasks = list(job.tasks)
        failed = [t for t in tasks if t.status == TaskStatus.FAILED]
        active = [
            t for t in tasks if t.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
        ]
        if status is JobStatus.CANCELLING or failed:
            for t in tasks:
                if t.status == TaskStatus.WAITING:
                    _move_task(t, TaskStatus.CANCELLED)
            if active:
                if failed:
                    await self.queue.cancel_job(job.id)
                return dispatch
            if status is JobStatus.CANCELLING:
                _move_job(job, JobStatus.CANCELLED)
            else:
                _fail(job, failed[0])
            return dispatch
        if all(t.status == TaskStatus.SUCCEEDED for t in tasks):
            await self._finish(job)
            return dispatch
        done = {t.stage for t in tasks if t.status == TaskStatus.SUCCEEDED}
        now = utcnow()
        ready = [
            t
            for t in tasks
            if t.status == TaskStatus.WAITING
            and (t.not_before is None or t.not_before <= now)
            and (set(t.depends_on) <= done or await self._may_follow(job, t, done))
        ]
        for task in ready:
            if task.attempts > self.max_retries:
                _move_task(task, TaskStatus.FAILED)
                task.error = "interrupted too many times"
                _fail(job, f"stage {task.stage} was interrupted too many times")
                return _Dispatch(parent, [])
            outgoing.append(await self._enqueue(job, task))
        return dispatch

    async def _may_follow(self, job: Job, task: Task, done: set[str]) -> bool:
        """Whether ``task`` may start before the stage it follows has finished:
        its other dependencies have, and that stage is running and has stored
        its output so far (``EngineSpec.follows``)."""
        followed = followed_stage(task.engine_id)
        if followed is None or followed not in task.depends_on:
            return False
        if not set(task.depends_on) - {followed} <= done:
            return False
        # Queued: its STARTED may come after its output so far (another
        # orchestrator's event, or a short wait before it is sent).
        if not any(
            t.stage == followed and t.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
            for t in job.tasks
        ):
            return False
        try:
            return await self.storage.exists(partial_key(job.id, followed))
        except Exception as exc:  # storage away: it starts once that stage is done
            log.debug("job %s: no early start for %s: %s", job.id, task.stage, exc)
            return False

    async def _dispatch(self, dispatch: _Dispatch) -> None:
        """Put committed tasks on the queue, each in its own dispatch span."""
        for message in dispatch.messages:
            with telemetry.span(
                f"dispatch {message.stage}",
                traceparent=dispatch.parent,
                job_id=message.job_id,
                task_id=message.task_id,
                engine=message.engine_id,
                stage=message.stage,
                attempt=message.attempt,
            ):
                message = dataclasses.replace(
                    message,
                    traceparent=telemetry.current_traceparent(),
                    enqueued_at=time.time(),
                )
                await self._publish(message)

    async def _publish(self, message: TaskMessage) -> None:
        """Put a committed task on the queue, retrying while the queue is away:
        the database already says it is queued, so it must get there."""
        failures = 0
        while True:
            try:
                await self.queue.put_task(message)
                return
            except Exception as exc:
                if not is_transient(exc) or self._stopping.is_set():
                    raise
                failures += 1
                if failures == 1:
                    log.warning("queueing task %s: %s; retrying", message.task_id, exc)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))

    async def _enqueue(self, job: Job, task: Task) -> TaskMessage:
        """Mark ``task`` queued (a new attempt) and build its message."""
        if task.status != TaskStatus.QUEUED:
            _move_task(task, TaskStatus.QUEUED)
        task.attempts += 1
        task.queued_at = utcnow()
        task.not_before = None
        task.progress = None
        return await self._message(job, task)

    async def _message(self, job: Job, task: Task) -> TaskMessage:
        """The queue message of ``task``'s current attempt."""
        inputs = await self._dependency_outputs(job, task.depends_on)
        audio_key: str | None = None
        if task.audio_input == AudioInput.ORIGINAL:
            audio_key = job.audio_key
        elif task.audio_input == AudioInput.PREPARED:
            # Stages after transcribe (align) read the prepared audio too, without
            # depending on prepare directly: look its output up.
            prepare = inputs.get("prepare") or (
                await self._dependency_outputs(job, ["prepare"])
            ).get("prepare", {})
            prepared = prepare.get("audio_key")
            audio_key = job_prefix(job.id) + prepared if prepared else None
        return TaskMessage(
            task_id=task.id,
            job_id=job.id,
            stage=task.stage,
            engine_id=task.engine_id,
            attempt=task.attempts,
            params={**job.params, "model": job.model},
            audio_key=audio_key,
            inputs=inputs,
            traceparent=telemetry.current_traceparent() or _traceparent(job),
            publish=any(
                followed_stage(t.engine_id) == task.stage and task.stage in t.depends_on
                for t in job.tasks
            ),
        )

    async def _dependency_outputs(
        self, job: Job, stages: Sequence[str]
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        by_stage = {t.stage: t for t in job.tasks}
        for stage in stages:
            key = by_stage[stage].output_key
            if key:
                outputs[stage] = json.loads(await self.storage.get_bytes(key))
        return outputs

    async def _finish(self, job: Job) -> None:
        """Every stage succeeded: assemble and store the transcript and complete
        the job (in the caller's transaction); a transcript that cannot be
        assembled fails it."""
        try:
            outputs = await self._dependency_outputs(job, [t.stage for t in job.tasks])
            transcript = assemble_transcript(
                model=job.model, params=job.params, outputs=outputs
            )
            key = transcript_key(job.id)
            await self.storage.put_bytes(key, transcript.model_dump_json().encode())
        except Exception as exc:
            if is_transient(exc):
                raise  # storage away: the event is handled again once it is back
            log.exception("assembling job %s failed", job.id)
            _fail(job, f"assembling the transcript failed: {exc}")
            return
        job.transcript_key = key
        job.language_code = transcript.language_code
        job.audio_duration_s = transcript.duration
        if job.status == JobStatus.PENDING:
            _move_job(job, JobStatus.RUNNING)
        job.completed_at = utcnow()
        _move_job(job, JobStatus.COMPLETED)
        job.started_at = job.started_at or job.completed_at

    @staticmethod
    async def _load_job(session: AsyncSession, job_id: str) -> Job | None:
        return await session.scalar(
            select(Job)
            .where(Job.id == job_id)
            .options(selectinload(Job.tasks))
            .with_for_update()
            .execution_options(populate_existing=True)
        )


@dataclasses.dataclass(frozen=True)
class _Dispatch:
    """Messages to put on the queue once their transaction commits, and the
    trace they are dispatched under ("": the current one)."""

    parent: str
    messages: list[TaskMessage]


def _started_at(event: TaskEvent) -> datetime:
    """When the event's attempt began: now, less how long the worker says it had
    run (a duration, so the worker's clock need not agree with ours)."""
    return utcnow() - timedelta(seconds=min(max(event.ran_s or 0.0, 0.0), 86400.0))


def _find_task(job: Job | None, task_id: str) -> Task | None:
    if job is None:
        return None
    return next((t for t in job.tasks if t.id == task_id), None)


def _move_job(job: Job, new: JobStatus) -> None:
    check_job_move(JobStatus(job.status), new)
    job.status = new
    if new.is_terminal:
        job.completed_at = job.completed_at or utcnow()
        try:
            elapsed = (job.completed_at - job.created_at).total_seconds()
        except TypeError:  # a timestamp missing, or naive against aware
            elapsed = None
        if elapsed is not None:
            telemetry.JOB_SECONDS.labels(new.value).observe(max(elapsed, 0.0))
        # Retention in days counts from when the job finished.
        if job.retention_days:
            job.purge_after = job.completed_at + timedelta(days=job.retention_days)
        if job.params.get(PURGE_WHEN_FINISHED):
            job.purge_after = job.completed_at  # the retention sweep removes it
        _record_webhook_event(job, new)


# The job parameter a dialect's webhook request is kept in (its ``type`` names the
# event; the rest is the dialect's, carried to its renderer as the event's data).
DIALECT_WEBHOOK = "dialect_webhook"

# Job parameters the server keeps for itself: not shown in job responses.
INTERNAL_PARAMS = frozenset({PURGE_WHEN_FINISHED, JOB_TRACEPARENT, DIALECT_WEBHOOK})

_WEBHOOK_EVENTS = {
    JobStatus.COMPLETED: "transcription.completed",
    JobStatus.FAILED: "transcription.failed",
    JobStatus.CANCELLED: "transcription.cancelled",
}


def _record_webhook_event(job: Job, new: JobStatus) -> None:
    """Write the job's webhook event in the transaction that finishes it (an
    outbox row: the delivery loop fans it out to the tenant's endpoints)."""
    event_type = _WEBHOOK_EVENTS.get(new)
    session = object_session(job)
    if event_type is None or session is None:
        return
    data: dict[str, Any] = {"transcription_id": job.id, "status": str(new)}
    if job.audio_duration_s is not None:
        data["duration"] = job.audio_duration_s
    if new == JobStatus.FAILED and job.error:
        data["error"] = job.error
    metadata = job.params.get("webhook_metadata")
    if metadata is not None:
        data["metadata"] = metadata
    session.add(
        WebhookEvent(
            id=f"evt_{uuid.uuid4().hex}",
            tenant_id=job.tenant_id,
            type=event_type,
            job_id=job.id,
            data=data,
            target_url=job.params.get("webhook_url"),
        )
    )
    # A dialect's own webhook (ElevenLabs ``webhook=true``): the dialect wrote
    # what it needs into the job; its event goes only to the targets it names.
    spec = job.params.get(DIALECT_WEBHOOK)
    if isinstance(spec, dict) and isinstance(spec.get("type"), str):
        session.add(
            WebhookEvent(
                id=f"evt_{uuid.uuid4().hex}",
                tenant_id=job.tenant_id,
                type=spec["type"],
                job_id=job.id,
                data={**spec, "status": str(new)},
            )
        )


def _traceparent(job: Job) -> str:
    value = job.params.get(JOB_TRACEPARENT)
    return value if isinstance(value, str) else ""


def _move_task(task: Task, new: TaskStatus) -> None:
    check_task_move(TaskStatus(task.status), new)
    task.status = new


def _fail(job: Job, reason: str | Task) -> None:
    """Fail the job, for a reason or for the failed task (whose input error, if
    the input caused it, the job keeps)."""
    if isinstance(reason, Task):
        job.error = f"stage {reason.stage} failed: {reason.error}"
        job.error_code = reason.error_code
    else:
        job.error = reason
    _move_job(job, JobStatus.FAILED)  # after the error: the webhook event carries it
