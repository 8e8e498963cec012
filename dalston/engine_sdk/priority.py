"""Realtime first on shared cores.

A process that serves live streams and runs batch engines (the embedded server)
has one set of cores for both. Stream decodes hold ``RealtimeGate.busy()`` from
the moment they are asked for until they end; a batch engine's task passes
through ``wait_turn()`` between its units of work (every ``check_cancelled``),
and waits there while any stream decode is waiting or running, at most
``max_pause_s`` at a time, so a batch job slows down but never stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RealtimeGate:
    def __init__(self, max_pause_s: float) -> None:
        self.max_pause_s = max_pause_s
        self._busy = 0
        self._idle = threading.Condition()
        self.paused_s = 0.0  # how long batch work waited, in total

    @property
    def busy_count(self) -> int:
        return self._busy

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Held by a stream decode from its request to its result."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.notify_all()

    def wait_turn(self) -> None:
        """Called by batch work between units: returns once no stream decode is
        waiting or running, or after ``max_pause_s``."""
        if self.max_pause_s <= 0 or self._busy == 0:
            return
        started = time.monotonic()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=self.max_pause_s)
        self.paused_s += time.monotonic() - started
