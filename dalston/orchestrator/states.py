"""Job and task states, and the only legal moves between them."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_JOB


class TaskStatus(StrEnum):
    WAITING = "waiting"  # dependencies not finished yet
    QUEUED = "queued"  # on the engine's queue
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_TASK


_TERMINAL_JOB = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
_TERMINAL_TASK = {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED}

_JOB_MOVES: dict[JobStatus, set[JobStatus]] = {
    JobStatus.PENDING: {
        JobStatus.RUNNING,
        JobStatus.CANCELLING,
        JobStatus.CANCELLED,
        JobStatus.FAILED,
    },
    JobStatus.RUNNING: {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLING,
        JobStatus.CANCELLED,
    },
    JobStatus.CANCELLING: {JobStatus.CANCELLED},
}

# Exactly the moves the orchestrator makes (tests/test_states.py keeps it so).
_TASK_MOVES: dict[TaskStatus, set[TaskStatus]] = {
    # -> QUEUED: dispatched; -> FAILED: interrupted too many times.
    TaskStatus.WAITING: {TaskStatus.QUEUED, TaskStatus.CANCELLED, TaskStatus.FAILED},
    # -> WAITING: recovery after a restart re-plans lost in-flight work.
    TaskStatus.QUEUED: {TaskStatus.RUNNING, TaskStatus.WAITING, TaskStatus.CANCELLED},
    # -> WAITING: a retry (after its backoff) or recovery after a crash.
    TaskStatus.RUNNING: {
        TaskStatus.SUCCEEDED,
        TaskStatus.FAILED,
        TaskStatus.WAITING,
        TaskStatus.CANCELLED,
    },
}


class IllegalTransition(Exception):
    pass


def check_job_move(current: JobStatus, new: JobStatus) -> None:
    if new not in _JOB_MOVES.get(current, set()):
        raise IllegalTransition(f"job cannot move from {current} to {new}")


def check_task_move(current: TaskStatus, new: TaskStatus) -> None:
    if new not in _TASK_MOVES.get(current, set()):
        raise IllegalTransition(f"task cannot move from {current} to {new}")
