"""Rate limits and quotas: the one place their rules live.

- **Requests per minute**, per API key: the key's own ``rate_limit`` or the
  tenant default ``DALSTON_RATE_LIMIT_REQUESTS_PER_MINUTE``. A fixed one-minute
  window counted with ``INCR`` + ``EXPIRE`` (Redis) or a dict (in process); over
  it, ``RateLimited`` with the seconds left in the window.
- **Concurrent jobs**, per tenant (``DALSTON_RATE_LIMIT_CONCURRENT_JOBS``):
  counted from the database (unfinished jobs), so nothing leaks when a process
  dies. Checked before anything of the job is stored.
- **Concurrent realtime sessions**, per tenant
  (``DALSTON_RATE_LIMIT_CONCURRENT_SESSIONS``): leases in a Redis sorted set
  scored by expiry, renewed while the session lives; a crashed gateway's leases
  expire after ``LEASE_TTL_S``. In process: a set per tenant.

Counters live in Redis when ``REDIS_URL`` is set, so every gateway shares them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.config import Settings
from dalston.db.models import Job
from dalston.errors import RateLimited
from dalston.orchestrator.states import JobStatus

WINDOW_S = 60
LEASE_TTL_S = 30.0
_UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.CANCELLING)

# KEYS[1]: the tenant's lease set; ARGV: now, expiry, limit, lease id.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) - tonumber(ARGV[1])) + 1)
return 1
"""


def _limit(value: int | None) -> int | None:
    """None or 0: unlimited."""
    return value or None


class Limits:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        redis: Any | None = None,
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self.settings = settings
        self.lease_ttl_s = lease_ttl_s
        self.sessions = sessions
        self._redis = redis
        if redis is None and settings.redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_timeout=5.0,
                socket_connect_timeout=5.0,
            )
        self._prefix = f"{settings.redis_prefix}:limits:"
        self._windows: dict[str, tuple[int, int]] = {}
        self._leases: dict[str, dict[str, float]] = {}

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    # --- requests per minute --------------------------------------------------
    async def check_request(self, key_id: str | None, rate_limit: int | None) -> None:
        """Count one request of an API key; raise ``RateLimited`` past its limit."""
        limit = _limit(rate_limit) or _limit(
            self.settings.rate_limit_requests_per_minute
        )
        if limit is None or key_id is None:
            return
        now = time.time()
        window = int(now // WINDOW_S)
        retry_after = int((window + 1) * WINDOW_S - now) + 1
        if self._redis is not None:
            name = f"{self._prefix}rpm:{key_id}:{window}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW_S * 2)
                count, _ = await pipe.execute()
        else:
            start, seen = self._windows.get(key_id, (window, 0))
            count = (seen if start == window else 0) + 1
            self._windows[key_id] = (window, count)
        if int(count) > limit:
            raise RateLimited(
                f"Rate limit of {limit} requests per minute exceeded; retry in "
                f"{retry_after} s.",
                retry_after=retry_after,
            )

    # --- concurrent jobs ----------------------------------------------------------
    async def check_job(self, tenant_id: str) -> None:
        """Raise ``RateLimited`` when the tenant already has its quota of
        unfinished jobs (counted from the database: nothing to leak)."""
        limit = _limit(self.settings.rate_limit_concurrent_jobs)
        if limit is None:
            return
        async with self.sessions() as session:
            running = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.tenant_id == tenant_id, Job.status.in_(_UNFINISHED))
            )
        if (running or 0) >= limit:
            raise RateLimited(
                f"This tenant already has {running} unfinished jobs (the limit is "
                f"{limit}); submit again when one finishes.",
                retry_after=5,
            )

    # --- concurrent realtime sessions ---------------------------------------------
    @contextlib.asynccontextmanager
    async def session_slot(
        self, tenant_id: str, *, counted: bool = True
    ) -> AsyncIterator[None]:
        """Hold one of the tenant's realtime session slots while the block runs;
        raise ``RateLimited`` when none is free. ``counted=False``: a session a
        gateway relays to this worker, whose slot the gateway holds."""
        limit = _limit(self.settings.rate_limit_concurrent_sessions)
        if limit is None or not counted:
            yield
            return
        lease = uuid.uuid4().hex
        if not await self._acquire(tenant_id, lease, limit):
            raise RateLimited(
                f"This tenant already has {limit} live sessions, its limit.",
                retry_after=5,
            )
        renew = (
            asyncio.create_task(self._renew(tenant_id, lease))
            if self._redis is not None
            else None
        )
        try:
            yield
        finally:
            if renew is not None:
                renew.cancel()
                with contextlib.suppress(BaseException):
                    await renew
            await self._release(tenant_id, lease)

    async def _acquire(self, tenant_id: str, lease: str, limit: int) -> bool:
        now = time.time()
        if self._redis is not None:
            ok = await self._redis.eval(
                _ACQUIRE,
                1,
                f"{self._prefix}sessions:{tenant_id}",
                now,
                now + self.lease_ttl_s,
                limit,
                lease,
            )
            return bool(int(ok))
        held = self._leases.setdefault(tenant_id, {})
        if len(held) >= limit:
            return False
        held[lease] = now
        return True

    async def _renew(self, tenant_id: str, lease: str) -> None:
        assert self._redis is not None
        name = f"{self._prefix}sessions:{tenant_id}"
        while True:
            await asyncio.sleep(self.lease_ttl_s / 3)
            with contextlib.suppress(Exception):
                await self._redis.zadd(name, {lease: time.time() + self.lease_ttl_s})
                await self._redis.expire(name, int(self.lease_ttl_s) + 1)

    async def _release(self, tenant_id: str, lease: str) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.zrem(f"{self._prefix}sessions:{tenant_id}", lease)
            return
        self._leases.get(tenant_id, {}).pop(lease, None)
