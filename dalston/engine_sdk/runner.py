"""Runs one engine: pulls task messages, batches them, calls the engine off the
event loop, stores outputs, reports events. It talks only to the queue and storage
seams, so the same runner can serve a remote worker process in distributed mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from dalston import telemetry
from dalston.engine_sdk.base import BatchEngine, TaskInput, TaskOutput
from dalston.engine_sdk.errors import EngineError, TaskCancelled
from dalston.engine_sdk.memory import release_if_grown, release_memory, resident_bytes
from dalston.engine_sdk.priority import RealtimeGate
from dalston.errors import DalstonError, input_error_code, is_transient
from dalston.loops import LoopHealth
from dalston.queue.base import TaskEvent, TaskEventKind, TaskMessage, TaskQueue
from dalston.storage.base import ArtifactStore, job_prefix, partial_key

log = logging.getLogger(__name__)
# How long a task waits for its audio while storage is unreachable.
STORAGE_PATIENCE_S = 60.0

_POLL_S = 0.5
# A task's STARTED event is sent once it has run this long: a shorter task's
# outcome says that it started, and when (``ran_s``). Each event is a transaction
# for the orchestrator, which on a short job ran beside the stage and held up
# its outcome (the job's lock, and the GIL beside the stage's own work).
_STARTED_AFTER_S = 0.25
_CANCEL_POLL_S = 0.25
# A running task's progress goes to the orchestrator at most this often.
_PROGRESS_EVERY_S = 1.0
# A task that a later stage follows stores its output so far at most this often
# (the first time once it has run this long: a short task publishes nothing),
# and less often while one version takes more than 1/_PUBLISH_SHARE of that to
# build and store (a long transcript on a slow model).
_PUBLISH_EVERY_S = 1.0
_PUBLISH_SHARE = 50
# How long the engine's thread waits for a version to be stored.
_PUBLISH_TIMEOUT_S = 10.0
# A following task looks for a new version, or the whole output, this often.
_FOLLOW_POLL_S = 0.25


def _log_progress_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("a progress event was dropped: %s", future.exception())


class _ProgressSender:
    """``TaskInput.on_progress`` for one task, called from the engine's thread:
    PROGRESS events at most every ``_PROGRESS_EVERY_S``, each for a change of at
    least 1 %; a report that comes sooner is held and sent when that time is up
    (the latest one), unless the task has ended by then. So a task shorter than
    that sends none: its outcome says all there is, and a progress write just
    before it delayed each short job's outcome by 2-3 ms. Best effort: an event
    that cannot be put is dropped."""

    def __init__(self, queue: TaskQueue, message: TaskMessage) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = queue
        self._message = message
        self._lock = threading.Lock()
        self._sent_at = time.monotonic()  # as if 0 were sent when the task began
        self._sent = 0.0
        self._held: float | None = None
        self._closed = False

    def __call__(self, fraction: float) -> None:
        with self._lock:
            if self._closed or fraction - self._sent < 0.01:
                return
            wait = self._sent_at + _PROGRESS_EVERY_S - time.monotonic()
            if wait <= 0:
                self._send(fraction)
                return
            if self._held is None:
                self._loop.call_soon_threadsafe(
                    self._loop.call_later, wait, self._send_held
                )
            self._held = fraction

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _send_held(self) -> None:
        with self._lock:
            held, self._held = self._held, None
            if held is not None and not self._closed and held - self._sent >= 0.01:
                self._send(held)

    def _send(self, fraction: float) -> None:
        """Put the event (any thread; the caller holds the lock). A report held
        before it is older: dropped."""
        self._sent_at, self._sent, self._held = time.monotonic(), fraction, None
        event = TaskEvent(
            kind=TaskEventKind.PROGRESS,
            task_id=self._message.task_id,
            job_id=self._message.job_id,
            attempt=self._message.attempt,
            progress=round(fraction, 4),
        )
        future = asyncio.run_coroutine_threadsafe(
            self._queue.put_event(event), self._loop
        )
        future.add_done_callback(_log_progress_failure)


class _Publisher:
    """``TaskInput.on_publish`` for a task that a later stage follows, called
    from the engine's thread: stores the output so far under ``partial_key`` at
    most every ``_PUBLISH_EVERY_S`` (the first once the task has run that long),
    and with the first version tells the orchestrator (a PROGRESS event with the
    key), which then dispatches the following stage. Best effort: a version
    that cannot be stored is skipped; the follower waits for the whole output."""

    def __init__(
        self, storage: ArtifactStore, queue: TaskQueue, message: TaskMessage
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._storage = storage
        self._queue = queue
        self._message = message
        self._key = partial_key(message.job_id, message.stage)
        self._lock = threading.Lock()
        self._stored_at = time.monotonic()
        self._every = _PUBLISH_EVERY_S
        self._announced = False
        self._closed = False

    def __call__(self, output_so_far: Callable[[], Any]) -> None:
        with self._lock:
            now = time.monotonic()
            if self._closed or now - self._stored_at < self._every:
                return
            self._stored_at = now
        try:
            body = json.dumps(output_so_far()).encode()
            asyncio.run_coroutine_threadsafe(
                self._storage.put_bytes(self._key, body), self._loop
            ).result(_PUBLISH_TIMEOUT_S)
            cost = time.monotonic() - now
            self._every = max(_PUBLISH_EVERY_S, cost * _PUBLISH_SHARE)
        except Exception as exc:
            log.debug(
                "task %s: a partial output was dropped: %s", self._message.task_id, exc
            )
            return
        if not self._announced:
            self._announced = True
            event = TaskEvent(
                kind=TaskEventKind.PROGRESS,
                task_id=self._message.task_id,
                job_id=self._message.job_id,
                attempt=self._message.attempt,
                partial_key=self._key,
            )
            future = asyncio.run_coroutine_threadsafe(
                self._queue.put_event(event), self._loop
            )
            future.add_done_callback(_log_progress_failure)

    def close(self) -> None:
        with self._lock:
            self._closed = True


class _LeftForLater(Exception):
    """A following task given up because this worker stops: not reported, so
    the queue (or recovery) hands it out again."""


_FINAL = (TaskEventKind.SUCCEEDED, TaskEventKind.FAILED, TaskEventKind.CANCELLED)


_T = TypeVar("_T")


def output_key(job_id: str, stage: str) -> str:
    return f"{job_prefix(job_id)}stages/{stage}.json"


def _lower_priority(nice: int, idle: bool = False) -> None:
    """Run this thread ``nice`` steps below the process (Linux: nice is per
    thread, and threads it starts, such as CTranslate2's, inherit it); with
    ``idle``, also under Linux's ``SCHED_IDLE`` policy: the thread runs only on
    cores nothing else wants (inherited as well, by threads and child processes)."""
    tid = threading.get_native_id()
    if nice > 0:
        try:
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(current + nice, 19))
        except (AttributeError, OSError) as exc:  # not Linux, or not allowed
            log.debug("engine threads keep their priority: %s", exc)
    if idle:
        try:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError) as exc:
            log.debug("engine threads keep their scheduling policy: %s", exc)


class EngineRunner:
    def __init__(
        self,
        engine: BatchEngine,
        queue: TaskQueue,
        storage: ArtifactStore,
        *,
        concurrency: int = 1,
        max_batch_size: int = 1,
        task_timeout_s: float = 3600.0,
        extend_every_s: float = 5.0,
        thread_nice: int = 0,
        thread_idle: bool = False,
        idle_unload_s: float = 0.0,
        gate: RealtimeGate | None = None,
    ) -> None:
        """``thread_nice``: how far below the process's CPU priority the engine's
        threads run (an embedded server keeps its requests ahead of inference);
        ``thread_idle``: they also run under ``SCHED_IDLE`` (a process that
        serves live streams keeps their decodes ahead of batch work);
        ``idle_unload_s``: a model no task has used this long is unloaded (the
        engine's ``unload_idle``) and its memory handed back; 0: never;
        ``gate``: the process's live streams, which its tasks let go first."""
        self.engine = engine
        self.queue = queue
        self.storage = storage
        self.concurrency = concurrency
        self.max_batch_size = min(max_batch_size, engine.capabilities().max_batch_size)
        self.task_timeout_s = task_timeout_s
        self.idle_unload_s = idle_unload_s
        self.gate = gate
        # Renew the queue's claim on running tasks this often (well inside the
        # visibility timeout), so only a dead worker's tasks are handed out again.
        self._extend_every_ticks = max(1, round(extend_every_s / _CANCEL_POLL_S))
        self.active = 0
        self.loaded = False
        self._stopping = asyncio.Event()
        self._abandoning = False
        self._running_inputs: set[TaskInput] = set()
        # Each running task's span (tracing on): its events carry its context.
        self._spans: dict[str, object] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        # The task loop's state: heartbeats and readiness report it.
        self.health = LoopHealth(f"engine {engine.engine_id}")
        # The engine's own threads: inference never waits for, nor holds up, the
        # event loop's default pool (uploads, storage, the database).
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix=f"engine-{engine.engine_id}",
            initializer=_lower_priority,
            initargs=(thread_nice, thread_idle),
        )

    @property
    def engine_id(self) -> str:
        return self.engine.engine_id

    async def run(self) -> None:
        """Serve until ``stop()``; finishes in-flight batches before returning."""
        unloader: asyncio.Task[None] | None = None
        try:
            await self._in_thread(self.engine.load)
            self.loaded = True
            if self.idle_unload_s > 0:
                unloader = asyncio.create_task(self._unload_idle_models())
            while not self._stopping.is_set():
                await self._slots.acquire()
                try:
                    batch = await self._next_batch()
                except Exception as exc:  # the queue is away: wait, then ask again
                    self._slots.release()
                    await self.health.failed(exc, stopping=self._stopping)
                    continue
                self.health.succeeded()
                if not batch:
                    self._slots.release()
                    continue
                job = asyncio.create_task(self._run_batch(batch))
                self._inflight.add(job)
                job.add_done_callback(self._inflight.discard)
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
        finally:
            if unloader is not None:
                unloader.cancel()
            self._threads.shutdown(wait=False)

    async def _unload_idle_models(self) -> None:
        """Every quarter of the idle time (at most 30 s), unload the models idle
        for ``idle_unload_s`` and give their memory back."""
        every = min(max(self.idle_unload_s / 4, 0.1), 30.0)
        health = LoopHealth(f"engine {self.engine_id} idle unload")
        while not self._stopping.is_set():
            await asyncio.sleep(every)
            try:
                before = resident_bytes()
                unloaded = await asyncio.to_thread(
                    self.engine.unload_idle, self.idle_unload_s
                )
                if unloaded:
                    await asyncio.to_thread(release_memory)
                    log.info(
                        "engine %s unloaded %s, idle for %.0f s; resident %d -> %d MB",
                        self.engine_id,
                        ", ".join(unloaded),
                        self.idle_unload_s,
                        before >> 20,
                        resident_bytes() >> 20,
                    )
            except Exception as exc:  # a fault of the engine's: try again later
                await health.failed(exc, stopping=self._stopping)
                continue
            health.succeeded()

    async def _in_thread(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, fn, *args
        )

    def stop(self, *, abandon: bool = False) -> None:
        """Stop taking tasks. With ``abandon``, interrupt running ones and report
        nothing: their tasks stay running in the database and are dispatched again
        when the orchestrator recovers."""
        self._stopping.set()
        if abandon:
            self._abandoning = True
            for task in self._running_inputs:
                task.cancel_event.set()

    async def _next_batch(self) -> list[TaskMessage]:
        first = await self.queue.get_task(self.engine_id, timeout=_POLL_S)
        if first is None:
            return []
        batch = [first]
        # Take what is already waiting, without delaying the first task.
        while len(batch) < self.max_batch_size:
            try:
                more = await self.queue.get_task(self.engine_id, timeout=0)
            except Exception:  # keep what was taken; the loop notices next time
                break
            if more is None:
                break
            batch.append(more)
        return batch

    async def _run_batch(self, batch: list[TaskMessage]) -> None:
        try:
            live: list[TaskMessage] = []
            for message in batch:
                try:
                    cancelled = await self.queue.is_job_cancelled(message.job_id)
                except Exception:  # the queue is away: run it; the watch checks again
                    cancelled = False
                if cancelled:
                    await self._event(message, TaskEventKind.CANCELLED)
                elif (followed := self._followed(message)) is not None:
                    # It waits for the stage it follows without this slot.
                    follower = asyncio.create_task(
                        self._run_following(message, followed)
                    )
                    self._inflight.add(follower)
                    follower.add_done_callback(self._inflight.discard)
                else:
                    live.append(message)
            if live:
                self.active += len(live)
                try:
                    await self._process(live)
                finally:
                    self.active -= len(live)
        finally:
            self._slots.release()

    def _followed(self, message: TaskMessage) -> str | None:
        """The stage a task of this engine follows, while that stage's output is
        not among its inputs (it was dispatched while that stage ran)."""
        spec = getattr(self.engine, "spec", None)
        followed = getattr(spec, "follows", None)
        if isinstance(followed, str) and followed not in message.inputs:
            return followed
        return None

    async def _run_following(self, message: TaskMessage, followed: str) -> None:
        self.active += 1
        try:
            await self._process([message], follow=followed)
        finally:
            self.active -= 1

    async def _process(
        self, batch: list[TaskMessage], follow: str | None = None
    ) -> None:
        """Run the batch in an engine thread (the caller holds a task slot) and
        report each outcome. ``follow``: the stage that the batch's one task
        follows, still running; the task takes a slot only while it works
        (``_follow``)."""
        begun = time.monotonic()
        async with AsyncExitStack() as stack:
            work_root = Path(tempfile.mkdtemp(prefix="dalston-task-"))
            stack.callback(shutil.rmtree, work_root, True)
            inputs: list[TaskInput] = []
            ready: list[TaskMessage] = []
            progress: dict[str, _ProgressSender] = {}
            publishers: dict[str, _Publisher] = {}
            for message in batch:
                try:
                    audio_path = None
                    if message.audio_key:
                        audio_path = await self._local_audio(stack, message.audio_key)
                except KeyError:
                    await self._event(
                        message,
                        TaskEventKind.FAILED,
                        error=f"input audio {message.audio_key} is missing",
                        retriable=False,
                    )
                    continue
                except Exception as exc:  # storage away: worth another try
                    log.warning(
                        "task %s: reading its audio failed: %s", message.task_id, exc
                    )
                    await self._event(
                        message,
                        TaskEventKind.FAILED,
                        error=f"reading input audio {message.audio_key} failed: {exc}",
                    )
                    continue
                work_dir = work_root / message.task_id
                work_dir.mkdir()
                sender = progress[message.task_id] = _ProgressSender(
                    self.queue, message
                )
                publisher = None
                if message.publish:
                    publisher = publishers[message.task_id] = _Publisher(
                        self.storage, self.queue, message
                    )
                inputs.append(
                    TaskInput(
                        task_id=message.task_id,
                        job_id=message.job_id,
                        stage=message.stage,
                        params=message.params,
                        audio_path=audio_path,
                        inputs=message.inputs,
                        work_dir=work_dir,
                        cancel_event=threading.Event(),
                        gate=self.gate,
                        on_progress=sender,
                        on_publish=publisher,
                    )
                )
                ready.append(message)
                if message.enqueued_at:
                    telemetry.QUEUE_WAIT_SECONDS.labels(self.engine_id).observe(
                        max(time.time() - message.enqueued_at, 0.0)
                    )
                self._spans[message.task_id] = telemetry.start_span(
                    f"engine {message.stage}",
                    message.traceparent,
                    job_id=message.job_id,
                    task_id=message.task_id,
                    engine=self.engine_id,
                    stage=message.stage,
                    attempt=message.attempt,
                )
            if not inputs:
                return
            starts = asyncio.create_task(self._report_started(ready, begun))
            watcher = asyncio.create_task(self._watch_cancel(inputs, ready))
            self._running_inputs.update(inputs)
            resident_before = resident_bytes()
            started = time.perf_counter()
            results: list[TaskOutput | Exception]
            try:
                running: list[TaskInput] | None = inputs
                if follow is not None:
                    followed = await self._await_followed(inputs[0], follow)
                    if followed is None:  # unreported: handed out again
                        return
                    if isinstance(followed, Exception):
                        results = [followed]
                        running = None
                    else:
                        running = followed
                        # A slot once its input is whole, until it has reported.
                        await self._slots.acquire()
                        stack.callback(self._slots.release)
                        started = time.perf_counter()
                if running is not None:
                    async with asyncio.timeout(self.task_timeout_s):
                        results = await self._in_thread(
                            self.engine.process_batch, running
                        )
            except TimeoutError:
                for task in inputs:
                    task.cancel_event.set()  # let the thread stop at its next check
                timeout_exc = EngineError(
                    f"task timed out after {self.task_timeout_s:.0f} s"
                )
                results = [timeout_exc for _ in inputs]
            finally:
                watcher.cancel()
                starts.cancel()  # the outcome says it started, if no STARTED did
                with contextlib.suppress(asyncio.CancelledError):
                    await starts
                self._running_inputs.difference_update(inputs)
                for sender in progress.values():
                    sender.close()  # the outcome says the rest
                for publisher in publishers.values():
                    publisher.close()
            elapsed = time.perf_counter() - started
            for message, result in zip(ready, results, strict=True):
                self._observe(message, result, elapsed)
                try:
                    await self._report(message, result, begun)
                finally:
                    telemetry.end_span(
                        self._spans.pop(message.task_id, None),
                        str(result) if isinstance(result, Exception) else None,
                    )
            del results
            await asyncio.to_thread(release_if_grown, resident_before)

    async def _await_followed(
        self, task: TaskInput, followed: str
    ) -> list[TaskInput] | Exception | None:
        """``_follow``'s task to process, or the outcome it ended with
        (cancelled, or an unreadable input), or None when this worker stops:
        the task is left, unreported, for the queue to hand out again."""
        try:
            return [await self._follow(task, followed)]
        except (TaskCancelled, EngineError) as ended:
            return ended
        except _LeftForLater:
            log.info("task %s left for redelivery", task.task_id)
            telemetry.end_span(self._spans.pop(task.task_id, None), None)
            return None

    async def _follow(self, task: TaskInput, followed: str) -> TaskInput:
        """Wait, holding no task slot, until ``followed`` (a stage) has stored
        its whole output; meanwhile the engine works ahead on each new version
        of its output so far (with a slot, ``_work_ahead``). ``task`` with that
        output among its inputs (its ``ahead`` and cancel event kept). Raises
        ``TaskCancelled`` once the job is cancelled, ``_LeftForLater`` when this
        worker stops."""
        whole = output_key(task.job_id, followed)
        partial = partial_key(task.job_id, followed)
        seen: bytes | None = None
        working = True  # until a try to work ahead fails
        next_version_at = 0.0  # versions come _PUBLISH_EVERY_S apart at most
        health = LoopHealth(f"engine {self.engine_id} follow")
        while True:
            if task.cancel_event.is_set():
                raise TaskCancelled(f"task {task.task_id} cancelled")
            if self._stopping.is_set():
                raise _LeftForLater
            body = None
            try:
                with contextlib.suppress(KeyError):
                    output = await self.storage.get_bytes(whole)
                    try:
                        data = await asyncio.to_thread(json.loads, output)
                    except ValueError as exc:
                        raise EngineError(
                            f"the {followed} output is unreadable"
                        ) from exc
                    return replace(task, inputs={**task.inputs, followed: data})
                if working and time.monotonic() >= next_version_at:
                    next_version_at = time.monotonic() + _PUBLISH_EVERY_S
                    with contextlib.suppress(KeyError):
                        body = await self.storage.get_bytes(partial)
            except EngineError:
                raise
            except Exception as exc:  # storage away: ask again
                await health.failed(exc, stopping=self._stopping)
                continue
            health.succeeded()
            if body is not None and body != seen:
                seen = body
                working = await self._work_ahead(task, body)
            else:
                await asyncio.sleep(_FOLLOW_POLL_S)

    async def _work_ahead(self, task: TaskInput, body: bytes) -> bool:
        """``engine.work_ahead`` on one version of the followed stage's output,
        with a task slot; False when it failed (the task stops working ahead:
        ``process`` does the work)."""
        await self._slots.acquire()
        try:

            def work() -> None:
                self.engine.work_ahead(task, json.loads(body))

            async with asyncio.timeout(self.task_timeout_s):
                await self._in_thread(work)
            return True
        except TaskCancelled:
            raise
        except Exception as exc:  # a head start only
            log.warning("task %s: working ahead failed: %s", task.task_id, exc)
            return False
        finally:
            self._slots.release()

    def _observe(
        self, message: TaskMessage, result: TaskOutput | Exception, elapsed: float
    ) -> None:
        """Stage time, and for a transcript its audio seconds and speed."""
        outcome = "failed" if isinstance(result, Exception) else "succeeded"
        if isinstance(result, TaskCancelled):
            outcome = "cancelled"
        telemetry.STAGE_SECONDS.labels(self.engine_id, message.stage, outcome).observe(
            elapsed
        )
        log.info(
            "task %s (%s) of job %s %s in %.2f s",
            message.task_id,
            message.stage,
            message.job_id,
            outcome,
            elapsed,
            extra={
                "job_id": message.job_id,
                "traceparent": telemetry.traceparent_of(
                    self._spans.get(message.task_id)
                ),
            },
        )
        if isinstance(result, Exception):
            telemetry.record_error(input_error_code(result) or "engine_error")
            return
        duration = (
            result.data.get("duration") if isinstance(result.data, dict) else None
        )
        if message.stage == "transcribe" and isinstance(duration, (int, float)):
            telemetry.AUDIO_SECONDS.labels(self.engine_id).inc(duration)
            if elapsed > 0 and duration > 0:
                telemetry.RTFX.labels(self.engine_id).observe(duration / elapsed)

    async def _local_audio(self, stack: AsyncExitStack, key: str) -> Path:
        """The task's audio as a local file. While storage is away (an outage,
        not a missing object) this waits and tries again, up to
        ``STORAGE_PATIENCE_S``, rather than spend the task's retries on it."""
        deadline = time.monotonic() + STORAGE_PATIENCE_S
        failures = 0
        while True:
            try:
                path: Path = await stack.enter_async_context(
                    self.storage.local_path(key)
                )
                return path
            except KeyError:
                raise
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() >= deadline:
                    raise
                failures += 1
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))

    async def _watch_cancel(
        self, inputs: list[TaskInput], messages: list[TaskMessage]
    ) -> None:
        ticks = 0
        health = LoopHealth(f"engine {self.engine_id} cancel watch")
        while True:
            await asyncio.sleep(_CANCEL_POLL_S)
            ticks += 1
            try:
                for task in inputs:
                    if await self.queue.is_job_cancelled(task.job_id):
                        task.cancel_event.set()
                if ticks % self._extend_every_ticks == 0:
                    # Keep long tasks ours; if another worker reclaimed one, stop it.
                    for task, message in zip(inputs, messages, strict=True):
                        if not await self.queue.extend_task(message):
                            task.cancel_event.set()
            except Exception as exc:  # the queue is away: the task runs on
                await health.failed(exc)
                continue
            health.succeeded()

    async def _report_started(self, ready: list[TaskMessage], begun: float) -> None:
        """STARTED for each task, once they have run ``_STARTED_AFTER_S``."""
        await asyncio.sleep(begun + _STARTED_AFTER_S - time.monotonic())
        for message in ready:
            await self._event(message, TaskEventKind.STARTED, begun=begun)

    async def _report(
        self, message: TaskMessage, result: TaskOutput | Exception, begun: float
    ) -> None:
        """The task's outcome; ``begun``: when it began (``time.monotonic``)."""
        if isinstance(result, TaskCancelled):
            await self._event(message, TaskEventKind.CANCELLED, begun=begun)
            return
        if isinstance(result, Exception):
            retriable = getattr(result, "retriable", True)
            if isinstance(result, DalstonError):  # bad input found by a shared helper
                retriable = False
            log.warning(
                "task %s (%s) failed: %s", message.task_id, message.stage, result
            )
            await self._event(
                message,
                TaskEventKind.FAILED,
                error=str(result) or type(result).__name__,
                retriable=retriable,
                error_code=input_error_code(result),
                begun=begun,
            )
            return
        try:
            prefix = job_prefix(message.job_id)
            for rel_key, path in result.files.items():
                await self.storage.put_path(prefix + rel_key, path)
            key = output_key(message.job_id, message.stage)
            await self.storage.put_bytes(key, json.dumps(result.data).encode())
        except Exception as exc:  # storage trouble is worth another try
            log.exception("storing output of task %s failed", message.task_id)
            await self._event(
                message, TaskEventKind.FAILED, error=str(exc), begun=begun
            )
            return
        await self._event(message, TaskEventKind.SUCCEEDED, output_key=key, begun=begun)

    async def _event(
        self,
        message: TaskMessage,
        kind: TaskEventKind,
        *,
        output_key: str | None = None,
        error: str | None = None,
        retriable: bool = True,
        error_code: str | None = None,
        begun: float | None = None,
    ) -> None:
        """Put an event (an outcome: then ack the task); ``begun``: when the task
        began (``time.monotonic``), sent as how long it has run."""
        event = TaskEvent(
            kind=kind,
            task_id=message.task_id,
            job_id=message.job_id,
            attempt=message.attempt,
            output_key=output_key,
            error=error,
            retriable=retriable,
            error_code=error_code,
            traceparent=telemetry.traceparent_of(self._spans.get(message.task_id))
            or message.traceparent,
            ran_s=None if begun is None else round(time.monotonic() - begun, 4),
        )
        # An outcome is worth keeping through a queue outage: try until it is
        # put (or this worker is abandoning its tasks to stop).
        put = False
        while not self._abandoning:
            try:
                if not put:
                    await self.queue.put_event(event)
                    put = True
                if kind in _FINAL:
                    # Only once the outcome is on the events stream may the task go.
                    await self.queue.ack_task(message)
            except Exception as exc:
                if self._stopping.is_set():
                    log.warning("task %s left to redelivery: %s", message.task_id, exc)
                    return
                await self.health.failed(exc, stopping=self._stopping)
                continue
            self.health.succeeded()
            return
        # Abandoning: unacknowledged, the queue hands the task out again.
