"""One embedded server per SQLite database.

An embedded server keeps its task queue in its own memory, so at start it
dispatches again every job the database says is unfinished (the queue that held
them died with the last process). A second embedded server on the same data
directory would take the first one's running jobs for lost and run them twice,
and its pid file would replace the first one's (``make stop`` would stop the
wrong one). So an embedded server holds an exclusive ``flock`` on a file beside
the database for as long as it runs; the kernel drops it when the process ends,
however it ends, so a crash leaves nothing to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url


class DataInUse(RuntimeError):
    """Another process holds the database's instance lock."""

    def __init__(self, database: Path, holder: int | None) -> None:
        who = f"pid {holder}" if holder else "another process"
        super().__init__(
            f"Another Dalston server ({who}) is using {database}. Stop it "
            "(`make stop`), or give this server its own DALSTON_DATA_DIR."
        )
        self.database = database
        self.holder = holder


def lock_path(database_url: str) -> Path | None:
    """The lock file of a file-backed SQLite database; None for any other."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return (
        Path(database).expanduser().resolve().with_name(Path(database).name + ".lock")
    )


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def database(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".lock"))

    def acquire(self) -> None:
        """Take the lock, or raise ``DataInUse`` naming the holder's pid."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataInUse(self.database, holder) from None
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

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
