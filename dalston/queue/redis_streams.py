"""Task queue on Redis Streams, for distributed mode.

Keys (the prefix is ``dalston`` unless the constructor is given another):

* ``{prefix}:tasks:{engine_id}``: one stream per engine, with its own consumer
  group ``workers``; every worker process is a consumer with a name of its own.
* ``{prefix}:dead:{engine_id}``: that engine's dead-letter stream.
* ``{prefix}:events``: the task events, consumer group ``orchestrator``.
* ``{prefix}:events:dead``: dead-letter stream of events.
* ``{prefix}:cancelled:{job_id}``: present (with a TTL) while a job is cancelled.
* ``{prefix}:published:{task_id}:{attempt}``: set once that attempt is on its
  stream (``put_task`` is idempotent per attempt).
* ``{prefix}:consumer:{name}``: present (with a TTL of ``consumer_ttl_s``) while
  that consumer's process is alive; refreshed every third of the TTL by the queue
  itself once it has read from a stream, deleted by ``aclose``.

Delivery is at least once. ``get_task`` reads with XREADGROUP, which leaves the
entry in the group's pending list (PEL) under this consumer; ``ack_task`` runs XACK
and XDEL together, so a settled message leaves the stream and the stream holds
only messages that are waiting or in flight. An entry that stayed pending longer
than ``visibility_timeout_s`` (its consumer died or hung) is taken over with
XAUTOCLAIM by the next consumer that asks for work; the claim raises the entry's
delivery counter, read back with XPENDING. An entry whose counter would pass
``max_deliveries`` is moved to the dead-letter stream (XADD there, XACK and XDEL
here, in one transaction) instead of being handed out again; so is an entry whose
payload cannot be decoded. A worker that needs longer than the visibility timeout
keeps its message with ``extend_task``.

Faster takeover: a consumer whose liveness key is gone (its process died, or was
stopped) holds nothing, and its entries are taken before they reach the
visibility timeout. A dead orchestrator's events go to the next orchestrator that
reads events (XCLAIM, one entry at a time; the group's consumers are looked at at
most every ``consumer_ttl_s / 5`` seconds per stream). A dead worker's task
messages are taken by an orchestrator (``take_orphaned_tasks``), which dispatches
each task again as a new, counted attempt; the old entry is then acked. Either
claim counts as a delivery, as above.

Connections: every command has a socket timeout, so a server that hangs fails
the call instead of blocking it for good; a dropped connection fails the call in
flight, and the next call connects again. Callers that loop forever retry with a
backoff (``dalston.loops``).

An ack settles the stream entry, whoever holds it: when a slow consumer acks a
message that another consumer has already reclaimed, the second delivery's ack
is a no-op. Handlers must be idempotent, as for any at-least-once queue.

Messages are JSON in the entry's ``data`` field; the entry id comes back as the
message's ``receipt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from dalston.loops import LoopHealth
from dalston.queue.base import TaskEvent, TaskEventKind, TaskMessage

log = logging.getLogger(__name__)

# --- key layout ---------------------------------------------------------------
KEY_PREFIX = "dalston"
TASKS_KEY = "{prefix}:tasks:{engine_id}"
DEAD_TASKS_KEY = "{prefix}:dead:{engine_id}"
EVENTS_KEY = "{prefix}:events"
DEAD_EVENTS_KEY = "{prefix}:events:dead"
CANCELLED_KEY = "{prefix}:cancelled:{job_id}"
CONSUMER_KEY = "{prefix}:consumer:{consumer}"
PUBLISHED_KEY = "{prefix}:published:{task_id}:{attempt}"
TASK_GROUP = "workers"
EVENT_GROUP = "orchestrator"
DATA_FIELD = "data"
# -------------------------------------------------------------------------------

DEFAULT_VISIBILITY_TIMEOUT_S = 60.0
DEFAULT_MAX_DELIVERIES = 5
DEFAULT_CANCEL_TTL_S = 7 * 24 * 3600
DEFAULT_DEAD_LETTER_MAXLEN = 10_000
DEFAULT_CONSUMER_TTL_S = 15.0
# How long "this attempt of this task was put on its stream" is remembered.
PUBLISHED_TTL_S = 7 * 24 * 3600
# Longer than any blocking read this queue makes (its callers block for seconds).
_SOCKET_TIMEOUT_S = 30.0
_CONNECT_TIMEOUT_S = 5.0
_DEAD_CLAIM_MIN_IDLE_MS = 500
# Pending-list entries one get call may look at while reclaiming.
_RECLAIM_ROUNDS = 10

# Reset the idle time of an entry, but only while this consumer still holds it.
_EXTEND_SCRIPT = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""

T = TypeVar("T")


# Seconds each step of closing a queue may take (see ``aclose``).
_CLOSE_STEP_S = 2.0


@dataclass(frozen=True)
class _Channel:
    stream: str
    group: str
    dead: str


@dataclass(frozen=True)
class DeadLetter:
    """An entry of a dead-letter stream."""

    id: str
    data: str
    source: str
    source_id: str
    deliveries: int
    reason: str


def default_consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def consumer_alive_on_host(url: str, prefix: str, host: str) -> bool:
    """Whether a queue consumer of ``host`` (a worker or an orchestrator there)
    keeps its liveness key: the health check of the roles that serve no HTTP."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(
        url, socket_timeout=3.0, socket_connect_timeout=3.0
    )
    try:
        pattern = CONSUMER_KEY.format(prefix=prefix, consumer=f"{host}:*")
        async for _ in client.scan_iter(match=pattern, count=500):
            return True
        return False
    finally:
        await client.aclose()


def encode_message(message: TaskMessage | TaskEvent) -> str:
    payload = dataclasses.asdict(message)
    payload.pop("receipt", None)
    return json.dumps(payload, separators=(",", ":"))


def _known_fields(cls: type[Any], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("payload is not a JSON object")
    names = {f.name for f in dataclasses.fields(cls)} - {"receipt"}
    return {k: v for k, v in data.items() if k in names}


def decode_task(raw: str, receipt: str | None = None) -> TaskMessage:
    return TaskMessage(**_known_fields(TaskMessage, json.loads(raw)), receipt=receipt)


def decode_event(raw: str, receipt: str | None = None) -> TaskEvent:
    data = _known_fields(TaskEvent, json.loads(raw))
    data["kind"] = TaskEventKind(data["kind"])
    return TaskEvent(**data, receipt=receipt)


class RedisStreamsQueue:
    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = KEY_PREFIX,
        consumer: str | None = None,
        visibility_timeout_s: float = DEFAULT_VISIBILITY_TIMEOUT_S,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        cancel_ttl_s: int = DEFAULT_CANCEL_TTL_S,
        dead_letter_maxlen: int = DEFAULT_DEAD_LETTER_MAXLEN,
        consumer_ttl_s: float = DEFAULT_CONSUMER_TTL_S,
    ) -> None:
        if visibility_timeout_s <= 0:
            raise ValueError("visibility_timeout_s must be positive")
        if consumer_ttl_s <= 0:
            raise ValueError("consumer_ttl_s must be positive")
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.url = url
        self.prefix = prefix
        self.consumer = consumer or default_consumer_name()
        self.visibility_timeout_s = visibility_timeout_s
        self.max_deliveries = max_deliveries
        self.cancel_ttl_s = cancel_ttl_s
        self.dead_letter_maxlen = dead_letter_maxlen
        self.consumer_ttl_s = consumer_ttl_s
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
        )
        self._sync: redis.Redis | None = None  # for depth(), which is synchronous
        self._groups: set[_Channel] = set()
        # XAUTOCLAIM cursor per stream, and when a scan last found nothing.
        self._cursors: dict[str, str] = {}
        self._idle_until: dict[str, float] = {}
        # When each stream's consumers were last looked at for dead ones.
        self._dead_scan_at: dict[str, float] = {}
        # A blocking read waits at most this long before looking for the dead.
        self._read_slice_s = min(consumer_ttl_s / 5, _DEAD_CLAIM_MIN_IDLE_MS / 1000)
        self._alive: asyncio.Task[None] | None = None
        self._closing = False
        self.liveness = LoopHealth(f"queue consumer {self.consumer} liveness")
        self._extend = self._redis.register_script(_EXTEND_SCRIPT)

    @property
    def redis(self) -> aioredis.Redis:
        """The asyncio client (decoded responses), for inspection and cleanup."""
        return self._redis

    # --- keys -------------------------------------------------------------------
    def tasks_key(self, engine_id: str) -> str:
        return TASKS_KEY.format(prefix=self.prefix, engine_id=engine_id)

    def dead_tasks_key(self, engine_id: str) -> str:
        return DEAD_TASKS_KEY.format(prefix=self.prefix, engine_id=engine_id)

    def events_key(self) -> str:
        return EVENTS_KEY.format(prefix=self.prefix)

    def dead_events_key(self) -> str:
        return DEAD_EVENTS_KEY.format(prefix=self.prefix)

    def cancelled_key(self, job_id: str) -> str:
        return CANCELLED_KEY.format(prefix=self.prefix, job_id=job_id)

    def consumer_key(self, consumer: str) -> str:
        return CONSUMER_KEY.format(prefix=self.prefix, consumer=consumer)

    def _task_channel(self, engine_id: str) -> _Channel:
        return _Channel(
            self.tasks_key(engine_id), TASK_GROUP, self.dead_tasks_key(engine_id)
        )

    def _event_channel(self) -> _Channel:
        return _Channel(self.events_key(), EVENT_GROUP, self.dead_events_key())

    # --- TaskQueue --------------------------------------------------------------
    async def put_task(self, message: TaskMessage) -> None:
        """Once per task attempt: putting the same attempt again does nothing, so a
        recovering orchestrator may publish every queued task without knowing
        which ones made it onto the stream before a crash."""
        published = PUBLISHED_KEY.format(
            prefix=self.prefix, task_id=message.task_id, attempt=message.attempt
        )
        if not await self._redis.set(published, 1, nx=True, ex=PUBLISHED_TTL_S):
            return
        channel = self._task_channel(message.engine_id)
        try:
            await self._ensure_group(channel)
            await self._redis.xadd(
                channel.stream, {DATA_FIELD: encode_message(message)}
            )
        except BaseException:
            await self._redis.delete(published)  # not published after all
            raise

    async def get_task(self, engine_id: str, timeout: float) -> TaskMessage | None:
        # A dead worker's tasks are not taken here: the orchestrator dispatches
        # them again as new attempts (``take_orphaned_tasks``).
        return await self._receive(
            self._task_channel(engine_id), timeout, decode_task, take_from_dead=False
        )

    async def ack_task(self, message: TaskMessage) -> None:
        await self._ack(self._task_channel(message.engine_id), message.receipt)

    async def extend_task(self, message: TaskMessage) -> bool:
        """Restart the visibility timeout of a message this consumer is working on.

        False when the message is no longer held by this consumer (it was
        reclaimed by another one, or settled): the work may be done twice."""
        if message.receipt is None:
            raise ValueError("message was not received from a queue")
        channel = self._task_channel(message.engine_id)
        held = await self._extend(
            keys=[channel.stream],
            args=[channel.group, self.consumer, message.receipt],
        )
        return bool(held)

    async def put_event(self, event: TaskEvent) -> None:
        channel = self._event_channel()
        await self._ensure_group(channel)
        await self._redis.xadd(channel.stream, {DATA_FIELD: encode_message(event)})

    async def get_event(self, timeout: float) -> TaskEvent | None:
        return await self._receive(
            self._event_channel(), timeout, decode_event, take_from_dead=True
        )

    async def ack_event(self, event: TaskEvent) -> None:
        await self._ack(self._event_channel(), event.receipt)

    async def cancel_job(self, job_id: str) -> None:
        await self._redis.set(self.cancelled_key(job_id), "1", ex=self.cancel_ttl_s)

    async def is_job_cancelled(self, job_id: str) -> bool:
        return bool(await self._redis.exists(self.cancelled_key(job_id)))

    def depth(self, engine_id: str) -> int:
        """Messages never delivered yet: XLEN minus the group's pending count.

        Acked entries are deleted, so the stream holds waiting plus in-flight
        messages, and the pending count is the in-flight ones (including those of
        dead consumers that wait to be reclaimed). Synchronous, for metrics
        collectors: it makes one blocking round trip on its own connection."""
        channel = self._task_channel(engine_id)
        if self._sync is None:
            self._sync = redis.Redis.from_url(
                self.url, decode_responses=True, socket_timeout=5.0
            )
        pipe = self._sync.pipeline(transaction=False)
        pipe.xlen(channel.stream)
        pipe.xpending(channel.stream, channel.group)
        length, pending = pipe.execute(raise_on_error=False)
        if isinstance(length, Exception):
            raise length
        in_flight = 0 if isinstance(pending, Exception) else int(pending["pending"])
        return max(0, int(length) - in_flight)

    # --- extras -------------------------------------------------------------------
    async def dead_letters(self, engine_id: str, count: int = 100) -> list[DeadLetter]:
        """The oldest entries of an engine's dead-letter stream."""
        return await self._dead_letters(self.dead_tasks_key(engine_id), count)

    async def dead_events(self, count: int = 100) -> list[DeadLetter]:
        return await self._dead_letters(self.dead_events_key(), count)

    async def aclose(self) -> None:
        # Every step is bounded: a close must not wait on a connection that
        # hangs (CI once saw a test's close wait 300 s with the refresh still
        # ticking). The flag ends the refresh loop even if a cancel it received
        # inside the client was lost.
        self._closing = True
        if self._alive is not None:
            self._alive.cancel()
            await asyncio.wait({self._alive}, timeout=_CLOSE_STEP_S)
            self._alive = None
            # Stopped: what this consumer still holds is free to take at once.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._redis.delete(self.consumer_key(self.consumer)),
                    _CLOSE_STEP_S,
                )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._redis.aclose(), _CLOSE_STEP_S)
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    # --- internals ----------------------------------------------------------------
    async def _ensure_group(self, channel: _Channel) -> None:
        if channel in self._groups:
            return
        try:
            # From id 0: entries added before the group existed are delivered too.
            await self._redis.xgroup_create(
                channel.stream, channel.group, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(channel)

    async def _grouped(self, channel: _Channel, op: Callable[[], Awaitable[T]]) -> T:
        """Run a group command, creating the group once if it vanished."""
        await self._ensure_group(channel)
        try:
            return await op()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._groups.discard(channel)
            await self._ensure_group(channel)
            return await op()

    async def _announce_alive(self) -> None:
        """Mark this consumer alive before it first holds an entry, then keep the
        mark fresh from a background task for as long as the queue is open."""
        if self._alive is not None:
            return
        key, ttl_ms = self.consumer_key(self.consumer), int(self.consumer_ttl_s * 1000)
        await self._redis.set(key, "1", px=ttl_ms)

        async def refresh() -> None:
            while not self._closing:
                await asyncio.sleep(self.consumer_ttl_s / 3)
                if self._closing:
                    return
                try:
                    await self._redis.set(key, "1", px=ttl_ms)
                except Exception as exc:
                    await self.liveness.failed(exc)
                    continue
                self.liveness.succeeded()

        self._alive = asyncio.create_task(refresh(), name=f"{key} refresh")

    async def _receive(
        self,
        channel: _Channel,
        timeout: float,
        decode: Callable[[str, str], T],
        *,
        take_from_dead: bool,
    ) -> T | None:
        await self._announce_alive()
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            entry = None
            if take_from_dead:
                entry = await self._claim_from_dead(channel)
            entry = entry or await self._reclaim(channel)
            if entry is None:
                remaining = deadline - time.monotonic()
                # Wait in slices, so a consumer that dies meanwhile is noticed.
                entry = await self._read(channel, min(remaining, self._read_slice_s))
                if entry is None:
                    if remaining <= self._read_slice_s:
                        return None
                    continue
            entry_id, fields = entry
            try:
                return decode(fields[DATA_FIELD], entry_id)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("undecodable entry %s in %s: %s", entry_id, channel, exc)
                await self._dead_letter(
                    channel, entry_id, fields, 1, f"undecodable: {exc}"
                )

    async def _read(
        self, channel: _Channel, remaining: float
    ) -> tuple[str, dict[str, str]] | None:
        # BLOCK 0 would wait forever: leave BLOCK out for a non-blocking read.
        block = max(1, int(remaining * 1000)) if remaining > 0 else None

        async def read() -> Any:
            return await self._redis.xreadgroup(
                channel.group,
                self.consumer,
                {channel.stream: ">"},
                count=1,
                block=block,
            )

        response = await self._grouped(channel, read)
        if not response:
            return None
        _stream, entries = response[0]
        if not entries:
            return None
        entry_id, fields = entries[0]
        return entry_id, fields or {}

    async def _reclaim(self, channel: _Channel) -> tuple[str, dict[str, str]] | None:
        """Take over one entry idle past the visibility timeout, if any."""
        now = time.monotonic()
        if now < self._idle_until.get(channel.stream, 0.0):
            return None
        min_idle_ms = int(self.visibility_timeout_s * 1000)
        for _ in range(_RECLAIM_ROUNDS):
            cursor = self._cursors.get(channel.stream, "0-0")

            async def claim(cursor: str = cursor) -> Any:
                return await self._redis.xautoclaim(
                    channel.stream,
                    channel.group,
                    self.consumer,
                    min_idle_ms,
                    start_id=cursor,
                    count=1,
                )

            result = await self._grouped(channel, claim)
            next_cursor, entries = result[0], result[1]
            self._cursors[channel.stream] = next_cursor
            # Entries deleted while pending come back empty (or not at all).
            claimed = [(i, f) for i, f in entries if f]
            if not claimed:
                if next_cursor == "0-0":
                    break
                continue
            entry_id, fields = claimed[0]
            if await self._take(channel, entry_id, fields, "idle"):
                return entry_id, fields
        # Nothing to reclaim: look again after a tenth of the visibility timeout.
        self._idle_until[channel.stream] = now + self.visibility_timeout_s / 10
        return None

    async def _claim_from_dead(
        self, channel: _Channel
    ) -> tuple[str, dict[str, str]] | None:
        """Take over one entry held by a consumer whose liveness key is gone."""
        now = time.monotonic()
        if now < self._dead_scan_at.get(channel.stream, 0.0):
            return None
        holding_dead = False
        for name in await self._dead_holders(channel):
            for _ in range(_RECLAIM_ROUNDS):
                found, entry = await self._claim_one_from(channel, name)
                holding_dead = holding_dead or found
                if not found:
                    break
                if entry is not None and await self._take(
                    channel, *entry, f"dead {name}"
                ):
                    return entry
        # Nothing to take: look again a fifth of a liveness TTL later, or as soon
        # as entries of the dead that were too fresh to claim may be claimed.
        wait_s = self.consumer_ttl_s / 5
        if holding_dead:
            wait_s = min(wait_s, _DEAD_CLAIM_MIN_IDLE_MS / 1000)
        self._dead_scan_at[channel.stream] = now + wait_s
        return None

    async def _dead_holders(self, channel: _Channel) -> list[str]:
        """Other consumers of the group that hold entries and are not alive."""
        consumers = await self._grouped(
            channel,
            lambda: self._redis.xinfo_consumers(channel.stream, channel.group),
        )
        holders = [
            str(c["name"])
            for c in consumers
            if int(c["pending"]) > 0 and c["name"] != self.consumer
        ]
        if not holders:
            return []
        marks = await self._redis.mget([self.consumer_key(n) for n in holders])
        return [n for n, mark in zip(holders, marks, strict=True) if mark is None]

    async def _claim_one_from(
        self, channel: _Channel, name: str
    ) -> tuple[bool, tuple[str, dict[str, str]] | None]:
        """Claim the oldest entry ``name`` holds: (whether it held one, the entry
        if this consumer got it)."""
        rows = await self._redis.xpending_range(
            channel.stream, channel.group, "-", "+", 1, consumername=name
        )
        if not rows:
            return False, None
        # The minimum idle time makes two consumers that look at once claim the
        # entry once: the first claim resets its idle time.
        claimed = await self._redis.xclaim(
            channel.stream,
            channel.group,
            self.consumer,
            _DEAD_CLAIM_MIN_IDLE_MS,
            [str(rows[0]["message_id"])],
        )
        # Nothing: taken by another consumer meanwhile, or deleted while pending
        # (the claim drops it from the pending list).
        entries = [(i, f) for i, f in claimed if f]
        return True, entries[0] if entries else None

    async def take_orphaned_tasks(self, limit: int = 100) -> list[TaskMessage]:
        """Task messages held by dead workers, now held by this consumer.

        For the orchestrator: it dispatches each task again as a new attempt and
        then acks the message (an orchestrator that dies before the ack leaves
        them with a dead holder again, for the next one to take)."""
        taken: list[TaskMessage] = []
        pattern = self.tasks_key("*")
        async for stream in self._redis.scan_iter(match=pattern, _type="stream"):
            engine_id = str(stream)[len(pattern) - 1 :]
            channel = self._task_channel(engine_id)
            for name in await self._dead_holders(channel):
                while len(taken) < limit:
                    found, entry = await self._claim_one_from(channel, name)
                    if not found:
                        break
                    if entry is None:
                        continue
                    entry_id, fields = entry
                    try:
                        taken.append(decode_task(fields[DATA_FIELD], entry_id))
                    except (KeyError, TypeError, ValueError) as exc:
                        await self._dead_letter(
                            channel, entry_id, fields, 1, f"undecodable: {exc}"
                        )
                        continue
                    log.info("took task entry %s of dead %s", entry_id, name)
        return taken

    async def _take(
        self, channel: _Channel, entry_id: str, fields: dict[str, str], whence: str
    ) -> bool:
        """Whether a just-claimed entry may be handed out; one delivered too many
        times goes to the dead-letter stream instead."""
        deliveries = await self._deliveries(channel, entry_id)
        if deliveries > self.max_deliveries:
            log.warning(
                "entry %s of %s delivered %d times: dead-lettered",
                entry_id,
                channel.stream,
                deliveries - 1,
            )
            await self._dead_letter(
                channel,
                entry_id,
                fields,
                deliveries - 1,
                f"not acknowledged after {deliveries - 1} deliveries",
            )
            return False
        log.info(
            "reclaimed entry %s of %s from %s consumer (delivery %d)",
            entry_id,
            channel.stream,
            whence,
            deliveries,
        )
        return True

    async def _deliveries(self, channel: _Channel, entry_id: str) -> int:
        rows = await self._redis.xpending_range(
            channel.stream, channel.group, min=entry_id, max=entry_id, count=1
        )
        return int(rows[0]["times_delivered"]) if rows else 1

    async def _dead_letter(
        self,
        channel: _Channel,
        entry_id: str,
        fields: dict[str, str],
        deliveries: int,
        reason: str,
    ) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                channel.dead,
                {
                    DATA_FIELD: fields.get(DATA_FIELD, ""),
                    "source": channel.stream,
                    "source_id": entry_id,
                    "deliveries": str(deliveries),
                    "reason": reason,
                },
                maxlen=self.dead_letter_maxlen,
                approximate=True,
            )
            pipe.xack(channel.stream, channel.group, entry_id)
            pipe.xdel(channel.stream, entry_id)
            await pipe.execute()

    async def _ack(self, channel: _Channel, receipt: str | None) -> None:
        if receipt is None:
            raise ValueError("message was not received from a queue")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(channel.stream, channel.group, receipt)
            pipe.xdel(channel.stream, receipt)
            await pipe.execute()

    async def _dead_letters(self, key: str, count: int) -> list[DeadLetter]:
        entries = await self._redis.xrange(key, count=count)
        return [
            DeadLetter(
                id=entry_id,
                data=fields.get(DATA_FIELD, ""),
                source=fields.get("source", ""),
                source_id=fields.get("source_id", ""),
                deliveries=int(fields.get("deliveries", "0")),
                reason=fields.get("reason", ""),
            )
            for entry_id, fields in entries
        ]
