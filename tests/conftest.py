"""Shared fixtures: real servers on SQLite and PostgreSQL, corpus data, services.

PostgreSQL tests skip with a reason when no server listens on 127.0.0.1:5432,
except under ``CI=true``, where a missing service is a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import ServerProcess

DATA = Path(__file__).parent / "data"
PG_ADMIN_URL = os.environ.get(
    "DALSTON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _listening(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: services are required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import asyncpg

    name = f"dalston_test_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded server on SQLite, shared by the tests that only read their jobs."""
    proc = ServerProcess(tmp_path_factory.mktemp("sqlite-server"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("pg-server"), env={"DATABASE_URL": postgres_url}
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
