"""How a running task's progress reports become PROGRESS events: at most one per
interval, the latest report held until then, none once the task has ended (its
outcome says the rest, so a short task sends none)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dalston.engine_sdk import runner
from dalston.queue import TaskEvent, TaskMessage

EVERY_S = 0.2


class _Events:
    """The slice of the queue the sender uses: ``put_event``, recorded."""

    def __init__(self) -> None:
        self.progress: list[float] = []

    async def put_event(self, event: TaskEvent) -> None:
        assert event.progress is not None
        self.progress.append(event.progress)


def _message() -> TaskMessage:
    return TaskMessage(
        task_id="t1", job_id="j1", stage="transcribe", engine_id="e", attempt=1
    )


@pytest.fixture(autouse=True)
def _short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_PROGRESS_EVERY_S", EVERY_S)


def _from_thread(sender: runner._ProgressSender, fraction: float) -> None:
    """Report as an engine does: from its own thread."""
    thread = threading.Thread(target=sender, args=(fraction,))
    thread.start()
    thread.join()


async def test_a_task_that_ends_within_the_interval_sends_none() -> None:
    events = _Events()
    sender = runner._ProgressSender(events, _message())  # type: ignore[arg-type]
    _from_thread(sender, 0.5)
    _from_thread(sender, 1.0)
    sender.close()
    await asyncio.sleep(EVERY_S * 2)
    assert events.progress == []


async def _until(events: _Events, expected: list[float]) -> None:
    for _ in range(100):
        if events.progress == expected:
            return
        await asyncio.sleep(EVERY_S / 10)
    assert events.progress == expected


async def test_reports_are_held_to_one_per_interval_latest_first() -> None:
    events = _Events()
    sender = runner._ProgressSender(events, _message())  # type: ignore[arg-type]
    _from_thread(sender, 0.1)
    _from_thread(sender, 0.2)  # sooner than the interval: replaces the held one
    assert events.progress == []
    await _until(events, [0.2])
    _from_thread(sender, 0.205)  # under 1 % more: not worth an event
    _from_thread(sender, 0.3)
    assert events.progress == [0.2]  # held until an interval after the last
    await _until(events, [0.2, 0.3])
    await asyncio.sleep(EVERY_S * 1.5)
    _from_thread(sender, 0.4)  # a whole interval after the last: sent at once
    await _until(events, [0.2, 0.3, 0.4])
    sender.close()
    _from_thread(sender, 1.0)
    await asyncio.sleep(EVERY_S * 1.5)
    assert events.progress == [0.2, 0.3, 0.4]


async def test_a_report_sent_when_due_drops_the_one_held_before() -> None:
    """The held report is older than one sent when the interval is up: progress
    never goes back."""
    events = _Events()
    sender = runner._ProgressSender(events, _message())  # type: ignore[arg-type]
    _from_thread(sender, 0.1)  # held; its timer fires after the interval
    sender._sent_at -= EVERY_S  # as if the interval were up before the timer
    _from_thread(sender, 0.5)  # due: sent at once
    await asyncio.sleep(EVERY_S * 1.5)
    assert events.progress == [0.5]
