"""One embedded server per database.

An embedded server keeps its task queue in its own memory, so at start it
dispatches again every job the database says is unfinished (the queue that held
them died with the last process). A second embedded server on the same database
would take the first one's running jobs for lost and run them twice, and on the
same data directory its pid file would replace the first one's (``make stop``
would stop the wrong one). So an embedded server holds a lock for as long as it
runs, one that ends with its holder however the process ends:

- SQLite: an exclusive ``flock`` on ``<database>.lock`` (the holder's pid in it);
  the kernel drops it with the process.
- PostgreSQL: a session advisory lock on a connection of its own (autocommit, so
  it holds no transaction open); the server drops it with the connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# pg_try_advisory_lock's key: "dalston" in ASCII. Advisory locks are per database.
ADVISORY_KEY = 0x64616C73746F6E


class DataInUse(RuntimeError):
    """Another process holds the database's instance lock."""

    def __init__(self, where: str, holder: int | None = None) -> None:
        who = f"pid {holder}" if holder else "another process"
        super().__init__(
            f"Another Dalston server ({who}) is using {where}. Stop it "
            "(`make stop`), or give this server its own DALSTON_DATA_DIR "
            "(or DATABASE_URL)."
        )
        self.holder = holder


class InstanceLock(Protocol):
    async def acquire(self) -> None:
        """Take the lock, or raise ``DataInUse``."""

    async def release(self) -> None: ...


def instance_lock(engine: AsyncEngine) -> InstanceLock | None:
    """The lock for ``engine``'s database (None for an in-memory SQLite one)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    path = lock_path(engine.url.render_as_string(hide_password=False))
    return FileLock(path) if path is not None else None


async def in_use(database_url: str) -> DataInUse | None:
    """Why a server could not start on ``database_url`` now, or None (a check
    before starting: the lock is taken and dropped again)."""
    from dalston.db.session import create_engine

    path = lock_path(database_url)
    if path is not None:
        holder = FileLock(path).holder()
        return None if holder is None else DataInUse(str(_database(path)), holder)
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    engine = create_engine(database_url)
    try:
        lock = AdvisoryLock(engine)
        try:
            await lock.acquire()
        except DataInUse as refused:
            return refused
        except Exception:
            return None  # unreachable now: the server's start says so its own way
        await lock.release()
        return None
    finally:
        await engine.dispose()


def lock_path(database_url: str) -> Path | None:
    """The lock file of a file-backed SQLite database; None for any other."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + ".lock")


def _database(lock: Path) -> Path:
    return lock.with_name(lock.name.removesuffix(".lock"))


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataInUse(str(_database(self.path)), holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def holder(self) -> int | None:
        """The pid holding the lock now (0 if unknown), or None when it is free."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        finally:
            os.close(fd)  # closing drops a shared lock taken just now
        return None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    @property
    def where(self) -> str:
        url = self.engine.url
        return f"the PostgreSQL database {url.database!r} on {url.host or 'localhost'}"

    async def acquire(self) -> None:
        if self._conn is not None:
            return
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            taken = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            )
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            raise DataInUse(self.where)
        self._conn = conn

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.scalar(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
            )
        with contextlib.suppress(Exception):
            await conn.close()


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None
