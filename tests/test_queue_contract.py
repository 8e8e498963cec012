"""One contract for every TaskQueue: the in-process queue of embedded mode and the
Redis Streams queue of distributed mode run the same tests; the Redis-only tests
below them cover what only a shared queue has (redelivery, dead letters, several
consumers).

The Redis tests need Redis on 127.0.0.1:6379 and skip without it (fail under
CI=true). Each test uses its own key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from dalston.queue import InProcessQueue, TaskEvent, TaskEventKind, TaskMessage
from dalston.queue.redis_streams import KEY_PREFIX, RedisStreamsQueue
from tests.conftest import require_service
from tests.faults import task_holder

REDIS_URL = "redis://127.0.0.1:6379/0"
# Short, so redelivery tests run in seconds.
VISIBILITY_S = 1.0

QueueFactory = Callable[..., RedisStreamsQueue]


def _task(n: int, engine: str = "asr", job: str = "job-1") -> TaskMessage:
    return TaskMessage(
        task_id=f"task-{n}",
        job_id=job,
        stage="transcribe",
        engine_id=engine,
        attempt=1,
        params={"language": "en", "n": n, "nested": {"list": [1, 2.5, None]}},
        audio_key=f"jobs/{job}/audio/original.wav",
        inputs={"prepare": {"audio_key": "audio/prepared.wav", "text": "héllo ✓"}},
    )


class _RedisQueues:
    """Makes Redis queues (consumers) that share one fresh key prefix."""

    def __init__(self) -> None:
        require_service("Redis", "127.0.0.1", 6379)
        self.prefix = f"dalston-test-{uuid.uuid4().hex[:12]}"
        self.made: list[RedisStreamsQueue] = []

    def __call__(self, **kwargs: Any) -> RedisStreamsQueue:
        kwargs.setdefault("visibility_timeout_s", VISIBILITY_S)
        queue = RedisStreamsQueue(REDIS_URL, prefix=self.prefix, **kwargs)
        self.made.append(queue)
        return queue

    async def cleanup(self) -> None:
        client = self().redis

        async def forget() -> None:
            keys = [key async for key in client.scan_iter(match=f"{self.prefix}:*")]
            if keys:
                await client.delete(*keys)

        # The prefix is this test's own: removing its keys is tidiness, bounded.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(forget(), 10)
        for queue in self.made:
            await asyncio.wait_for(queue.aclose(), 10)  # each step bounded at 2 s


@pytest_asyncio.fixture
async def redis_queues() -> AsyncIterator[QueueFactory]:
    factory = _RedisQueues()
    yield factory
    await factory.cleanup()


@pytest_asyncio.fixture(params=["memory", "redis"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield InProcessQueue()
        return
    factory = _RedisQueues()
    yield factory()
    await factory.cleanup()


# --- the contract ---------------------------------------------------------------
async def test_tasks_are_fifo_per_engine(queue: Any) -> None:
    for n in range(5):
        await queue.put_task(_task(n, engine="asr"))
        if n < 3:
            await queue.put_task(_task(100 + n, engine="align"))
    got_asr = [await queue.get_task("asr", timeout=1) for _ in range(5)]
    got_align = [await queue.get_task("align", timeout=1) for _ in range(3)]
    assert [m.task_id for m in got_asr] == [f"task-{n}" for n in range(5)]
    assert [m.task_id for m in got_align] == [f"task-{100 + n}" for n in range(3)]
    for message in got_asr + got_align:
        await queue.ack_task(message)
    assert await queue.get_task("asr", timeout=0) is None
    assert await queue.get_task("align", timeout=0) is None


async def test_message_round_trips_whole(queue: Any) -> None:
    sent = _task(7)
    await queue.put_task(sent)
    got = await queue.get_task("asr", timeout=1)
    assert got == sent  # the receipt is not part of equality
    assert got.params == sent.params and got.inputs == sent.inputs
    await queue.ack_task(got)


async def test_get_times_out_with_none(queue: Any) -> None:
    started = time.monotonic()
    assert await queue.get_task("nobody", timeout=0.3) is None
    assert 0.2 <= time.monotonic() - started < 2.0
    started = time.monotonic()
    assert await queue.get_task("nobody", timeout=0) is None
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert await queue.get_event(timeout=0.3) is None
    assert 0.2 <= time.monotonic() - started < 2.0


async def test_blocked_get_wakes_on_put(queue: Any) -> None:
    async def put_later() -> None:
        await asyncio.sleep(0.2)
        await queue.put_task(_task(1))

    putter = asyncio.create_task(put_later())
    started = time.monotonic()
    got = await queue.get_task("asr", timeout=5)
    await putter
    assert got is not None and got.task_id == "task-1"
    assert time.monotonic() - started < 2.0
    await queue.ack_task(got)


async def test_events_round_trip_in_order(queue: Any) -> None:
    sent = [
        TaskEvent(kind=TaskEventKind.STARTED, task_id="t1", job_id="j1", attempt=1),
        TaskEvent(
            kind=TaskEventKind.SUCCEEDED,
            task_id="t1",
            job_id="j1",
            attempt=1,
            output_key="jobs/j1/stages/transcribe.json",
        ),
        TaskEvent(
            kind=TaskEventKind.FAILED,
            task_id="t2",
            job_id="j1",
            attempt=2,
            error="undecodable audio",
            retriable=False,
        ),
        TaskEvent(kind=TaskEventKind.CANCELLED, task_id="t3", job_id="j2", attempt=1),
    ]
    for event in sent:
        await queue.put_event(event)
    got = [await queue.get_event(timeout=1) for _ in sent]
    assert got == sent
    assert all(isinstance(e.kind, TaskEventKind) for e in got)
    for event in got:
        await queue.ack_event(event)
    assert await queue.get_event(timeout=0) is None


async def test_cancel_flags(queue: Any) -> None:
    assert not await queue.is_job_cancelled("job-a")
    await queue.cancel_job("job-a")
    await queue.cancel_job("job-a")  # idempotent
    assert await queue.is_job_cancelled("job-a")
    assert not await queue.is_job_cancelled("job-b")


async def test_depth_counts_waiting_messages(queue: Any) -> None:
    assert queue.depth("asr") == 0
    for n in range(3):
        await queue.put_task(_task(n))
    await queue.put_task(_task(9, engine="align"))
    assert queue.depth("asr") == 3
    assert queue.depth("align") == 1
    first = await queue.get_task("asr", timeout=1)
    assert queue.depth("asr") == 2  # a message being worked on is not waiting
    await queue.ack_task(first)
    assert queue.depth("asr") == 2
    for _ in range(2):
        await queue.ack_task(await queue.get_task("asr", timeout=1))
    assert queue.depth("asr") == 0
    assert queue.depth("never-used") == 0


# --- Redis only -----------------------------------------------------------------
async def test_unacked_message_is_reclaimed_after_visibility_timeout(
    redis_queues: QueueFactory,
) -> None:
    dead_worker, live_worker = redis_queues(), redis_queues()
    await dead_worker.put_task(_task(1))
    taken = await dead_worker.get_task("asr", timeout=1)
    assert taken is not None and taken.receipt
    # Still pending with its first consumer: nobody else gets it yet.
    assert await live_worker.get_task("asr", timeout=0.2) is None
    await asyncio.sleep(VISIBILITY_S + 0.3)
    again = await live_worker.get_task("asr", timeout=0)
    assert again == taken and again.receipt == taken.receipt
    await live_worker.ack_task(again)
    await asyncio.sleep(VISIBILITY_S + 0.3)
    assert await dead_worker.get_task("asr", timeout=0) is None
    assert await live_worker.get_task("asr", timeout=0) is None


async def test_ack_stops_redelivery(redis_queues: QueueFactory) -> None:
    first, second = redis_queues(), redis_queues()
    await first.put_task(_task(1))
    taken = await first.get_task("asr", timeout=1)
    assert taken is not None
    await first.ack_task(taken)
    await asyncio.sleep(VISIBILITY_S + 0.3)
    assert await second.get_task("asr", timeout=0) is None
    assert await first.get_task("asr", timeout=0) is None
    assert await first.redis.xlen(first.tasks_key("asr")) == 0  # acked = deleted


async def test_ack_needs_a_receipt(redis_queues: QueueFactory) -> None:
    with pytest.raises(ValueError):
        await redis_queues().ack_task(_task(1))


async def test_message_delivered_too_often_goes_to_dead_letters(
    redis_queues: QueueFactory,
) -> None:
    a, b = redis_queues(max_deliveries=2), redis_queues(max_deliveries=2)
    await a.put_task(_task(1))
    assert await a.get_task("asr", timeout=1) is not None  # delivery 1
    await asyncio.sleep(VISIBILITY_S + 0.3)
    assert await b.get_task("asr", timeout=0) is not None  # delivery 2, reclaimed
    await asyncio.sleep(VISIBILITY_S + 0.3)
    # A third delivery would pass max_deliveries: dead-lettered instead.
    assert await a.get_task("asr", timeout=0) is None
    dead = await a.dead_letters("asr")
    assert len(dead) == 1
    assert dead[0].deliveries == 2
    assert dead[0].source == a.tasks_key("asr")
    assert json.loads(dead[0].data)["task_id"] == "task-1"
    assert await a.redis.xlen(a.tasks_key("asr")) == 0
    assert a.depth("asr") == 0
    await asyncio.sleep(VISIBILITY_S + 0.3)
    assert await b.get_task("asr", timeout=0) is None


async def test_undecodable_entry_goes_to_dead_letters(
    redis_queues: QueueFactory,
) -> None:
    q = redis_queues()
    await q.put_task(_task(1))  # creates the stream and group
    await q.redis.xadd(q.tasks_key("asr"), {"data": "{not json"})
    await q.redis.xadd(q.tasks_key("asr"), {"other": "field"})
    await q.put_task(_task(2))
    got = [await q.get_task("asr", timeout=0) for _ in range(3)]
    assert [m.task_id if m else None for m in got] == ["task-1", "task-2", None]
    dead = await q.dead_letters("asr")
    assert len(dead) == 2
    assert all(d.reason.startswith("undecodable") for d in dead)


async def test_two_consumers_share_without_duplicates(
    redis_queues: QueueFactory,
) -> None:
    # A long visibility timeout: nothing may be reclaimed while the test runs.
    workers = [redis_queues(visibility_timeout_s=60) for _ in range(2)]
    for n in range(20):
        await workers[0].put_task(_task(n))

    async def drain(worker: RedisStreamsQueue) -> list[TaskMessage]:
        got: list[TaskMessage] = []
        while (message := await worker.get_task("asr", timeout=0.3)) is not None:
            got.append(message)
            await asyncio.sleep(0.01)  # let the other consumer in
        return got

    got_a, got_b = await asyncio.gather(drain(workers[0]), drain(workers[1]))
    ids = [m.task_id for m in got_a + got_b]
    assert len(ids) == 20 and set(ids) == {f"task-{n}" for n in range(20)}
    assert got_a and got_b  # both took a share
    for worker, got in ((workers[0], got_a), (workers[1], got_b)):
        for message in got:
            await worker.ack_task(message)
    assert workers[0].depth("asr") == 0
    assert await workers[0].redis.xlen(workers[0].tasks_key("asr")) == 0


async def test_extend_keeps_a_long_task_from_being_reclaimed(
    redis_queues: QueueFactory,
) -> None:
    worker, other = redis_queues(), redis_queues()
    await worker.put_task(_task(1))
    taken = await worker.get_task("asr", timeout=1)
    assert taken is not None
    await asyncio.sleep(VISIBILITY_S * 0.6)
    assert await worker.extend_task(taken)
    await asyncio.sleep(VISIBILITY_S * 0.6)
    # Past the timeout since delivery, not since the extension.
    assert await other.get_task("asr", timeout=0) is None
    await asyncio.sleep(VISIBILITY_S * 0.7)
    stolen = await other.get_task("asr", timeout=0)
    assert stolen is not None
    assert stolen == taken
    assert not await worker.extend_task(taken)  # it is the other's now
    await other.ack_task(stolen)


async def test_unacked_event_is_reclaimed(redis_queues: QueueFactory) -> None:
    crashed, restarted = redis_queues(), redis_queues()
    event = TaskEvent(kind=TaskEventKind.STARTED, task_id="t", job_id="j", attempt=1)
    await crashed.put_event(event)
    assert await crashed.get_event(timeout=1) == event
    assert await restarted.get_event(timeout=0.2) is None
    await asyncio.sleep(VISIBILITY_S + 0.3)
    again = await restarted.get_event(timeout=0)
    assert again is not None
    assert again == event
    await restarted.ack_event(again)
    assert await restarted.redis.xlen(restarted.events_key()) == 0


async def test_cancel_flag_expires(redis_queues: QueueFactory) -> None:
    q = redis_queues(cancel_ttl_s=3600)
    await q.cancel_job("job-x")
    ttl = await q.redis.ttl(q.cancelled_key("job-x"))
    assert 0 < ttl <= 3600


async def test_key_layout(redis_queues: QueueFactory) -> None:
    q = redis_queues()
    p = q.prefix
    assert q.tasks_key("asr") == f"{p}:tasks:asr"
    assert q.dead_tasks_key("asr") == f"{p}:dead:asr"
    assert q.events_key() == f"{p}:events"
    assert q.cancelled_key("j") == f"{p}:cancelled:j"
    assert KEY_PREFIX == "dalston"


async def test_a_dead_workers_task_is_taken_before_the_visibility_timeout(
    redis_queues: QueueFactory,
) -> None:
    """A worker process killed mid-task stops refreshing its liveness key; within
    about the key's TTL (1 s here), not the 60 s visibility timeout, its entry is
    an orphan that an orchestrator takes (and workers do not get twice)."""
    orchestrator = redis_queues(visibility_timeout_s=60, consumer_ttl_s=1.0)
    worker = redis_queues(visibility_timeout_s=60, consumer_ttl_s=1.0)
    await orchestrator.put_task(_task(1))
    async with task_holder(REDIS_URL, orchestrator.prefix, "asr") as doomed:
        assert doomed.task_id == "task-1"
        assert await orchestrator.take_orphaned_tasks() == []  # it is alive
        doomed.kill()
        started = time.monotonic()
        orphans: list[TaskMessage] = []
        while not orphans and time.monotonic() - started < 10:
            orphans = await orchestrator.take_orphaned_tasks()
            await asyncio.sleep(0.1)
        waited = time.monotonic() - started
    assert [o.task_id for o in orphans] == ["task-1"]
    assert waited < 5, waited
    assert await worker.get_task("asr", timeout=0.3) is None
    await orchestrator.ack_task(orphans[0])
    assert await orchestrator.redis.xlen(orchestrator.tasks_key("asr")) == 0


async def test_a_stopped_workers_tasks_are_orphans_at_once(
    redis_queues: QueueFactory,
) -> None:
    stopping = redis_queues(visibility_timeout_s=60, consumer_ttl_s=30.0)
    orchestrator = redis_queues(visibility_timeout_s=60, consumer_ttl_s=30.0)
    await stopping.put_task(_task(1))
    assert await stopping.get_task("asr", timeout=1) is not None
    await stopping.aclose()  # a graceful stop that abandons its running task
    started = time.monotonic()
    orphans: list[TaskMessage] = []
    while not orphans and time.monotonic() - started < 3:
        orphans = await orchestrator.take_orphaned_tasks()
        await asyncio.sleep(0.05)
    assert [o.task_id for o in orphans] == ["task-1"]


async def test_a_dead_orchestrators_event_goes_to_the_next(
    redis_queues: QueueFactory,
) -> None:
    dead = redis_queues(visibility_timeout_s=60, consumer_ttl_s=30.0)
    alive = redis_queues(visibility_timeout_s=60, consumer_ttl_s=30.0)
    event = TaskEvent(kind=TaskEventKind.STARTED, task_id="t", job_id="j", attempt=1)
    await dead.put_event(event)
    assert await dead.get_event(timeout=1) == event
    await dead.aclose()
    assert await alive.get_event(timeout=3) == event
