"""The task queue seam between the orchestrator and engine workers.

Two directions: task messages go to an engine's queue; task events (started,
succeeded, failed) come back to the orchestrator. Messages carry everything a worker
needs, so a remote worker never reads the database.

Delivery is at least once: a message handed out by ``get_task`` / ``get_event`` is
settled by ``ack_task`` / ``ack_event`` once its effect is durable. A distributed
queue hands an unacknowledged message to another consumer after a visibility
timeout, so handlers must tolerate seeing a message twice. The in-process queue
loses nothing short of the process itself, and its acks are no-ops.
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
    # W3C trace context of the dispatch ("" when tracing is off): the engine
    # task's span joins the job's trace. Older messages decode without it.
    traceparent: str = ""
    # Unix time the message was put on the queue (0: unknown), for queue wait.
    enqueued_at: float = 0.0
    # A stage of the job follows this one (``EngineSpec.follows``): publish the
    # output so far while it runs (``TaskInput.publish``).
    publish: bool = False
    # Set by the queue on delivery (a Redis stream entry id); handed back to
    # ``ack_task``. Not part of the message's content or equality.
    receipt: str | None = field(default=None, compare=False)


class TaskEventKind(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # How far a running task has got (``progress``, 0-1): informational, never
    # changes the task's state; a lost or late one does no harm.
    PROGRESS = "progress"


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
    # The input's fault: the code of the ``DalstonError`` that refused it.
    error_code: str | None = None
    # Trace context of the engine task's span, so the stages the orchestrator
    # dispatches next stay in the job's trace ("" when tracing is off).
    traceparent: str = ""
    # PROGRESS: the fraction of the task's work done.
    progress: float | None = None
    # How long the attempt had run when the event was sent (seconds, measured by
    # the worker): the orchestrator dates the task's start from it, so a start
    # reported late, or only by the outcome of a short task, keeps its time.
    ran_s: float | None = None
    # PROGRESS: the task's output so far is stored here (sent with its first
    # version): a stage that follows it may start.
    partial_key: str | None = None
    # Set by the queue on delivery; handed back to ``ack_event``.
    receipt: str | None = field(default=None, compare=False)


class TaskQueue(Protocol):
    async def put_task(self, message: TaskMessage) -> None: ...

    async def get_task(self, engine_id: str, timeout: float) -> TaskMessage | None:
        """Next message for this engine, or None after ``timeout`` seconds.

        The message stays pending until ``ack_task``; one left unacknowledged past
        the queue's visibility timeout may be delivered again, to any worker."""
        ...

    async def ack_task(self, message: TaskMessage) -> None:
        """Settle a message from ``get_task``: it will not be delivered again.

        Call it once the task's outcome event has been put."""
        ...

    async def put_event(self, event: TaskEvent) -> None: ...

    async def get_event(self, timeout: float) -> TaskEvent | None: ...

    async def extend_task(self, message: TaskMessage) -> bool:
        """Keep a long-running task from being reclaimed; False if it was."""
        ...

    async def take_orphaned_tasks(self, limit: int = 100) -> list[TaskMessage]:
        """Messages held by workers that are known dead (before any visibility
        timeout), now held by the caller, who dispatches each task again and then
        acks the message. Empty for a queue that cannot outlive its workers."""
        ...

    async def ack_event(self, event: TaskEvent) -> None:
        """Settle an event from ``get_event`` once its effect is committed."""
        ...

    async def cancel_job(self, job_id: str) -> None:
        """Ask workers to stop this job's tasks; queued ones are dropped on receipt."""
        ...

    async def is_job_cancelled(self, job_id: str) -> bool: ...

    def depth(self, engine_id: str) -> int:
        """Messages waiting for this engine, not counting ones being worked on."""
        ...
