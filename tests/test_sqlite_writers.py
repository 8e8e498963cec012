"""SQLite writers of one process queue in asyncio (``db.session.WriteGate``), never in
SQLite's busy handler, where a waiting connection holds its mutex and the event
loop's thread, touching that connection (the garbage collector freeing one of its
statements), froze with it until the wait gave up; the writer holding the lock,
which needed the loop to commit, froze too.

The loop's touch is made here on purpose (a statement on the waiting writer's
connection, from the loop's thread), with a 2 s busy timeout: without the gate
the touch takes the whole 2 s and the waiting writer fails "database is locked".
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dalston.db.session import create_engine, create_session_factory
from dalston.errors import is_transient

BUSY_TIMEOUT_S = 2.0


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", busy_timeout_s=BUSY_TIMEOUT_S
    )
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def _raw(session: AsyncSession) -> sqlite3.Connection:
    """The sqlite3 connection under a session's (aiosqlite) connection."""
    conn = await session.connection()
    fairy: Any = await conn.get_raw_connection()
    raw: sqlite3.Connection = fairy.driver_connection._connection
    return raw


async def test_a_waiting_writer_leaves_the_event_loop_free(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as first, sessions() as second:
        raw_second = await _raw(second)  # its connection, checked out by a read
        await first.execute(text("INSERT INTO t (id) VALUES (1)"))  # the lock

        async def write_second() -> None:
            await second.execute(text("INSERT INTO t (id) VALUES (2)"))
            await second.commit()

        waiting = asyncio.create_task(write_second())
        await asyncio.sleep(0.3)  # the second writer is waiting by now
        assert not waiting.done()
        started = time.monotonic()
        raw_second.execute("SELECT 1").fetchall()  # the loop's thread touches it
        touched_s = time.monotonic() - started
        await first.commit()
        await asyncio.wait_for(waiting, 10)  # it got the lock and wrote
        assert touched_s < BUSY_TIMEOUT_S / 4, touched_s
    async with sessions() as check:
        ids = (await check.execute(text("SELECT id FROM t ORDER BY id"))).all()
    assert [row.id for row in ids] == [1, 2]


async def test_a_writer_waits_its_turn_at_most_the_busy_timeout(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as first:
        await first.execute(text("INSERT INTO t (id) VALUES (1)"))
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught:
            async with sessions() as second:
                await second.execute(text("INSERT INTO t (id) VALUES (2)"))
        waited_s = time.monotonic() - started
        assert BUSY_TIMEOUT_S * 0.9 <= waited_s < BUSY_TIMEOUT_S * 3, waited_s
        assert "database is locked" in str(caught.value)
        assert is_transient(caught.value)  # a 503 with Retry-After at the door
        await first.rollback()
    # The turn passes on after a rollback, a failure and a commit alike.
    for n in (3, 4):
        async with sessions() as later, later.begin():
            await later.execute(text(f"INSERT INTO t (id) VALUES ({n})"))
    with pytest.raises(OperationalError):
        async with sessions() as failing, failing.begin():
            await failing.execute(text("INSERT INTO t (id) VALUES (6)"))
            await failing.execute(text("INSERT INTO nowhere (id) VALUES (1)"))
    async with sessions() as last, last.begin():
        await last.execute(text("INSERT INTO t (id) VALUES (5)"))
    async with sessions() as check:
        ids = (await check.execute(text("SELECT id FROM t ORDER BY id"))).all()
    assert [row.id for row in ids] == [3, 4, 5]
