"""The job and task state machines refuse illegal moves."""

from __future__ import annotations

import pytest

from dalston.orchestrator.states import (
    IllegalTransition,
    JobStatus,
    TaskStatus,
    check_job_move,
    check_task_move,
)


@pytest.mark.parametrize(
    "terminal", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]
)
def test_terminal_jobs_never_move(terminal: JobStatus) -> None:
    for target in JobStatus:
        with pytest.raises(IllegalTransition):
            check_job_move(terminal, target)


def test_cancelling_only_ends_cancelled() -> None:
    check_job_move(JobStatus.CANCELLING, JobStatus.CANCELLED)
    with pytest.raises(IllegalTransition):
        check_job_move(JobStatus.CANCELLING, JobStatus.COMPLETED)


def test_task_retry_path() -> None:
    check_task_move(TaskStatus.WAITING, TaskStatus.QUEUED)
    check_task_move(TaskStatus.QUEUED, TaskStatus.RUNNING)
    check_task_move(TaskStatus.RUNNING, TaskStatus.WAITING)  # waits out its backoff
    with pytest.raises(IllegalTransition):
        check_task_move(TaskStatus.WAITING, TaskStatus.RUNNING)
    with pytest.raises(IllegalTransition):
        check_task_move(TaskStatus.SUCCEEDED, TaskStatus.QUEUED)


def test_the_task_table_holds_only_the_moves_the_orchestrator_makes() -> None:
    made = {
        (TaskStatus.WAITING, TaskStatus.QUEUED),  # dispatch
        (TaskStatus.WAITING, TaskStatus.CANCELLED),  # cancel, or a sibling failed
        (TaskStatus.WAITING, TaskStatus.FAILED),  # interrupted too many times
        (TaskStatus.QUEUED, TaskStatus.RUNNING),  # started
        (TaskStatus.QUEUED, TaskStatus.WAITING),  # recovery re-plans lost work
        (TaskStatus.QUEUED, TaskStatus.CANCELLED),  # cancel
        (TaskStatus.RUNNING, TaskStatus.SUCCEEDED),
        (TaskStatus.RUNNING, TaskStatus.FAILED),
        (TaskStatus.RUNNING, TaskStatus.WAITING),  # retry after backoff; recovery
        (TaskStatus.RUNNING, TaskStatus.CANCELLED),
    }
    for current in TaskStatus:
        for new in TaskStatus:
            if (current, new) in made:
                check_task_move(current, new)
            else:
                with pytest.raises(IllegalTransition):
                    check_task_move(current, new)
