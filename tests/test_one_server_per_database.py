"""One embedded server per data directory (``dalston.db.instance``).

The embedded server's queue lives in its memory, so at start it dispatches again
every job its database says is unfinished. A second ``dalston serve`` on the same
data directory (another port, a second terminal, a service manager beside a
manual run) took the first one's running jobs for lost and ran them twice, and
wrote its pid over the first one's ``server.pid``, so ``make stop`` lost track
of the first. Now the second one refuses to start and says who holds the data.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dalston.config import Settings
from dalston.db.instance import DataInUse
from dalston.runtime import Runtime
from tests.conftest import fresh_database
from tests.server import REPO, ServerProcess, free_port


def _serve_again(env: dict[str, str]) -> tuple[int, str]:
    """A second ``dalston serve`` with ``env``: its exit code and what it said."""
    second = subprocess.run(
        [sys.executable, "-m", "dalston", "serve", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return second.returncode, " ".join((second.stdout + second.stderr).split())


def test_a_second_server_on_the_same_data_refuses_to_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data)
    first.start()
    try:
        assert first.proc is not None
        pid = first.proc.pid
        code, said = _serve_again(first.env)
        assert code == 1, said
        assert f"pid {pid}" in said and str(data / "dalston.db") in said, said
        # The first one serves on, and `make stop` still finds it.
        assert httpx.get(f"{first.url}/ready", timeout=5).status_code == 200
        assert (data / "server.pid").read_text().strip() == str(pid)

        # The runtime itself refuses too (an app built by other means), before
        # it touches the database.
        settings = Settings(data_dir=data)
        with pytest.raises(DataInUse) as refused:
            asyncio.run(Runtime.build(settings).start())
        assert refused.value.holder == pid
    finally:
        first.stop()

    # Stopped, it lets the next one in (killed, the kernel drops its lock:
    # tests/test_restart.py starts again after kill -9).
    again = ServerProcess(data)
    again.start()
    try:
        assert httpx.get(f"{again.url}/ready", timeout=5).status_code == 200
    finally:
        again.stop()


def test_a_second_embedded_server_on_one_postgresql_database_refuses_to_start(
    tmp_path: Path,
) -> None:
    """The same with ``DATABASE_URL`` (each server its own data directory): the
    lock is PostgreSQL's advisory lock, held on a connection of the server's."""
    with fresh_database() as database_url:
        first = ServerProcess(tmp_path / "one", env={"DATABASE_URL": database_url})
        first.start()
        try:
            env = {**first.env, "DALSTON_DATA_DIR": str(tmp_path / "two")}
            code, said = _serve_again(env)
            assert code == 1, said
            assert "PostgreSQL database" in said, said
            assert httpx.get(f"{first.url}/ready", timeout=5).status_code == 200
            settings = Settings(data_dir=tmp_path / "three", database_url=database_url)
            with pytest.raises(DataInUse):
                asyncio.run(Runtime.build(settings).start())
        finally:
            first.stop()
        # Its connection closed, the lock is free again.
        again = ServerProcess(tmp_path / "two", env={"DATABASE_URL": database_url})
        again.start()
        again.stop()
