"""Shared fixtures: real servers on SQLite and PostgreSQL, corpus data, services.

PostgreSQL tests skip with a reason when no server listens on 127.0.0.1:5432,
except under ``CI=true``, where a missing service is a failure.

Two layers: ``tests/inproc/`` runs the app in process with a fake transcriber
(seconds); the rest drive real servers in subprocesses with the real model. The
latter are marked ``model`` here, by one rule, so no test file has to remember it:
a test is ``model`` when it uses a fixture that yields a ``ServerProcess`` or starts
one itself (the few that run faster-whisper in process carry the mark themselves).
``make test-fast`` runs ``-m "not model"``; ``make test`` runs both.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.server import ServerProcess

DATA = Path(__file__).parent / "data"
PG_ADMIN_URL = os.environ.get(
    "DALSTON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _starts_a_server(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        for fixture in defs:
            returns = getattr(fixture.func, "__annotations__", {}).get("return")
            if "ServerProcess" in str(returns):
                return True
    function = getattr(item, "function", None)
    return function is not None and "ServerProcess(" in inspect.getsource(function)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the real-server, real-model tests ``model`` (module docstring)."""
    for item in items:
        if _starts_a_server(item):
            item.add_marker(pytest.mark.model)


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


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
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
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port (the S3 stand-in)."""
    from moto.server import ThreadedMotoServer

    from tests.server import free_port

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    deadline = time.monotonic() + 10
    while not _listening("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError("moto server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture(scope="session")
def distributed_env(moto_url: str) -> Iterator[dict[str, str]]:
    """Settings of distributed mode: PostgreSQL, Redis Streams and S3 (moto), with a
    database of its own (each server's first start creates its admin key)."""
    require_service("Redis", "127.0.0.1", 6379)
    with fresh_database() as database_url:
        yield {
            "DATABASE_URL": database_url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            # A key prefix of its own, so test runs never see each other's streams.
            "DALSTON_REDIS_PREFIX": f"dalston-test-{uuid.uuid4().hex[:8]}",
            "S3_ENDPOINT_URL": moto_url,
            "DALSTON_S3_BUCKET": f"dalston-{uuid.uuid4().hex[:8]}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DALSTON_QUEUE_VISIBILITY_S": "3",
        }


@pytest.fixture(scope="session")
def dist_server(
    tmp_path_factory: pytest.TempPathFactory, distributed_env: dict[str, str]
) -> Iterator[ServerProcess]:
    """All roles in one process, but over PostgreSQL + Redis Streams + S3."""
    proc = ServerProcess(tmp_path_factory.mktemp("dist-server"), env=distributed_env)
    proc.start()
    yield proc
    proc.stop()


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
