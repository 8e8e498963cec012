"""What the operator's dashboard reads: a tenant's finished jobs per day, and the
board of tasks waiting and running now.

``daily_usage`` buckets jobs by the UTC day they finished, in Python rather than
SQL: day truncation and interval arithmetic differ between SQLite and PostgreSQL,
and a window of at most ``MAX_DAYS`` days reads only four columns per job.
``task_board`` lists unfinished tasks with their job, oldest first, running
before queued before waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.db.models import Job, Task, utcnow
from dalston.orchestrator import JobStatus
from dalston.orchestrator.states import TaskStatus

MAX_DAYS = 90
BOARD_LIMIT = 200
_BOARD_STATUSES = (TaskStatus.RUNNING, TaskStatus.QUEUED, TaskStatus.WAITING)


@dataclass
class DayUsage:
    """One UTC day: jobs completed and failed, the audio seconds of the completed
    ones and the wall seconds they ran (started to completed, queue wait left
    out)."""

    date: date
    completed: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0
    # The audio of the jobs that have a start time: RTFx's numerator.
    timed_audio_seconds: float = 0.0

    @property
    def rtfx(self) -> float | None:
        """Audio seconds per second of processing; None without a timed job."""
        if self.processing_seconds <= 0:
            return None
        return round(self.timed_audio_seconds / self.processing_seconds, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "completed": self.completed,
            "failed": self.failed,
            "audio_seconds": round(self.audio_seconds, 3),
            "processing_seconds": round(self.processing_seconds, 3),
            "rtfx": self.rtfx,
        }


async def daily_usage(
    *,
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    days: int,
    now: datetime | None = None,
) -> list[DayUsage]:
    """The last ``days`` UTC days, oldest first, today included, every day present
    (zeros where nothing finished)."""
    days = max(1, min(days, MAX_DAYS))
    today = (now or utcnow()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    series = {first + timedelta(i): DayUsage(first + timedelta(i)) for i in range(days)}
    query = select(
        Job.status, Job.started_at, Job.completed_at, Job.audio_duration_s
    ).where(
        Job.tenant_id == tenant_id,
        Job.completed_at >= start,
        Job.status.in_((JobStatus.COMPLETED, JobStatus.FAILED)),
    )
    async with sessions() as session:
        rows = (await session.execute(query)).tuples().all()
    for status, started_at, completed_at, audio_s in rows:
        if completed_at is None:
            continue
        day = series.get(completed_at.astimezone(UTC).date())
        if day is None:  # finished after ``now`` (a clock passed in by a test)
            continue
        if status == JobStatus.FAILED:
            day.failed += 1
            continue
        day.completed += 1
        if audio_s:
            day.audio_seconds += audio_s
            ran = (completed_at - started_at).total_seconds() if started_at else 0
            if ran > 0:
                day.timed_audio_seconds += audio_s
                day.processing_seconds += ran
    return [series[d] for d in sorted(series)]


@dataclass(frozen=True)
class BoardTask:
    id: str
    job_id: str
    job_name: str | None
    tenant_id: str
    stage: str
    engine_id: str
    status: str
    attempts: int
    queued_at: datetime | None
    started_at: datetime | None


async def task_board(
    *,
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str | None,
    limit: int = BOARD_LIMIT,
) -> tuple[list[BoardTask], bool]:
    """Unfinished tasks (of one tenant, or of all with ``tenant_id=None``):
    running, then queued, then waiting, each oldest first; and whether more than
    ``limit`` exist."""
    order = case(
        (Task.status == TaskStatus.RUNNING, 0),
        (Task.status == TaskStatus.QUEUED, 1),
        else_=2,
    )
    query = (
        select(Task, Job.display_name, Job.tenant_id)
        .join(Job, Job.id == Task.job_id)
        .where(Task.status.in_(_BOARD_STATUSES))
    )
    if tenant_id is not None:
        query = query.where(Job.tenant_id == tenant_id)
    query = query.order_by(
        order, Task.started_at, Task.queued_at, Job.created_at, Task.position
    ).limit(limit + 1)
    async with sessions() as session:
        rows = (await session.execute(query)).tuples().all()
    board = [
        BoardTask(
            id=task.id,
            job_id=task.job_id,
            job_name=name,
            tenant_id=tenant,
            stage=task.stage,
            engine_id=task.engine_id,
            status=task.status,
            attempts=task.attempts,
            queued_at=task.queued_at,
            started_at=task.started_at,
        )
        for task, name, tenant in rows
    ]
    return board[:limit], len(board) > limit
