"""Loops that run for the life of a process, and what they report about themselves.

Every such loop (the orchestrator's event loop, an engine runner's task loop,
heartbeats, the retention sweep) reads Redis, PostgreSQL or S3, and any of them can
go away and come back. A loop never ends on such an error: it records the failure
in its ``LoopHealth``, waits a capped exponential backoff with jitter, and tries
again. The first failure of an outage is logged with its traceback, the recovery
once; the failures in between are counted, not logged, so an outage of an hour
does not write a line per spin.

``LoopHealth.ok`` is what readiness and heartbeats report: False while the loop is
failing, and for good once it has stopped (a loop that ends while its process
stays up is a fault that ``/ready`` must show, not hide).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: try ``n`` waits between half and all
    of ``min(cap_s, initial_s * 2 ** (n - 1))``, so many processes that lost the
    same server do not come back in step."""

    initial_s: float = 0.1
    cap_s: float = 10.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap_s, self.initial_s * 2 ** max(failures - 1, 0))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class LoopHealth:
    """One loop's state: failing (how many times in a row, last error) or stopped."""

    def __init__(self, name: str, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self.failures = 0
        self.last_error: str | None = None
        self.stopped = False

    @property
    def ok(self) -> bool:
        return not self.stopped and self.failures == 0

    def succeeded(self) -> None:
        """A round of the loop worked: an outage, if any, is over."""
        if self.failures:
            log.warning(
                "%s working again after %d failed tries", self.name, self.failures
            )
            self.failures = 0
            self.last_error = None

    async def failed(
        self, exc: BaseException, *, stopping: asyncio.Event | None = None
    ) -> None:
        """Record a failed round and wait out its backoff (cut short by
        ``stopping``). Logs only the first failure of an outage."""
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.failures == 1:
            log.warning(
                "%s failing, retrying with backoff: %s",
                self.name,
                self.last_error,
                exc_info=exc,
            )
        delay = self.backoff.delay(self.failures)
        if stopping is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)

    def mark_stopped(self, exc: BaseException | None) -> None:
        """The loop has ended (``exc``: why, if it raised)."""
        self.stopped = True
        if exc is not None:
            self.last_error = f"{type(exc).__name__}: {exc}"
