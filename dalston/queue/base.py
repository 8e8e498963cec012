"""The task queue seam between the orchestrator and engine workers.

Two directions: task messages go to an engine's queue; task events (started,
succeeded, failed) come back to the orchestrator. Messages carry everything a worker
needs, so a remote worker never reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class TaskMessage:
    task_id: str
    job_id: str
    stage: str
    engine_id: str
    attempt: int
    params: dict[str, Any] = field(default_factory=dict)
    # Key of the audio object this stage reads.
    audio_key: str | None = None
    # JSON outputs of finished dependencies, by stage name.
    inputs: dict[str, Any] = field(default_factory=dict)


class TaskEventKind(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TaskEvent:
    kind: TaskEventKind
    task_id: str
    job_id: str
    attempt: int
    output_key: str | None = None
    error: str | None = None
    # False for errors that another try cannot fix (undecodable audio, ...).
    retriable: bool = True


class TaskQueue(Protocol):
    async def put_task(self, message: TaskMessage) -> None: ...

    async def get_task(self, engine_id: str, timeout: float) -> TaskMessage | None:
        """Next message for this engine, or None after ``timeout`` seconds."""
        ...

    async def put_event(self, event: TaskEvent) -> None: ...

    async def get_event(self, timeout: float) -> TaskEvent | None: ...

    async def cancel_job(self, job_id: str) -> None:
        """Ask workers to stop this job's tasks; queued ones are dropped on receipt."""
        ...

    async def is_job_cancelled(self, job_id: str) -> bool: ...

    def depth(self, engine_id: str) -> int: ...
