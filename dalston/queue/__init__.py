from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dalston.queue.base import TaskEvent, TaskEventKind, TaskMessage, TaskQueue
from dalston.queue.memory import InProcessQueue

if TYPE_CHECKING:
    from dalston.queue.redis_streams import RedisStreamsQueue

__all__ = [
    "InProcessQueue",
    "RedisStreamsQueue",
    "TaskEvent",
    "TaskEventKind",
    "TaskMessage",
    "TaskQueue",
]


def __getattr__(name: str) -> Any:
    # Imported on first use, so embedded mode does not load the Redis client.
    if name == "RedisStreamsQueue":
        from dalston.queue.redis_streams import RedisStreamsQueue

        return RedisStreamsQueue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
