"""Async engine and session factory for SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

# How long a SQLite writer waits for the database (its write lock, or its turn in
# this process's queue of writers) before it fails with "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HELD = "dalston_write_gate"  # on the connection record: the lock it holds


class WriteGate:
    """The writers of one SQLite database in this process, one at a time.

    SQLite has one write lock. A connection that waits for it in SQLite's busy
    handler holds its own mutex all the while (in its aiosqlite thread), and the
    event loop's thread sometimes needs that mutex: the garbage collector frees a
    finished statement of that connection there. Then the loop stands still until
    the wait gives up, and the writer that holds the lock, which needs the loop to
    commit, with it: a whole server frozen for the busy timeout, and the waiters'
    requests failed (seen with four idempotent submits of one key: 30 s, then
    503s). So writers queue here, in asyncio, before their first write statement,
    and leave the queue when their connection goes back to the pool (after its
    commit or rollback). SQLite's busy handler is left to writers of other
    processes.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # One lock per event loop: asyncio locks belong to one loop, and an
        # engine may outlive one (tests).
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Lock
        ] = weakref.WeakKeyDictionary()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def enter(self) -> asyncio.Lock:
        lock = self._lock()
        try:
            await asyncio.wait_for(lock.acquire(), self.timeout_s)
        except TimeoutError:
            raise sqlite3.OperationalError(
                "database is locked (another writer of this process held it "
                f"for {self.timeout_s:g} s)"
            ) from None
        return lock

    def install(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def _before_write(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if _HELD in conn.info or not _is_write(statement):
                return
            # In the greenlet of an async call: wait on the loop, not in SQLite.
            try:
                conn.info[_HELD] = await_only(self.enter())
            except sqlite3.OperationalError as exc:  # as SQLite's own would come
                raise OperationalError(statement, None, exc) from None

        def _leave(_dbapi_conn: Any, record: Any, *_: Any) -> None:
            lock = record.info.pop(_HELD, None)
            if lock is not None and lock.locked():
                lock.release()

        event.listen(sync.pool, "checkin", _leave)
        event.listen(sync.pool, "invalidate", _leave)


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


def create_engine(
    url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S
) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Writers of other processes wait for the lock instead of failing with
        # "database is locked"; this process's queue in WriteGate.
        kwargs["connect_args"] = {"timeout": busy_timeout_s}
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL survives a process crash; only power loss can undo
            # the last commits. It saves an fsync on every transaction.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cursor.close()

        WriteGate(busy_timeout_s).install(engine)

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
