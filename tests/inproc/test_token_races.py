"""Single-use tokens under concurrency, and after their key is revoked, on SQLite
(embedded) and PostgreSQL (distributed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import fresh_database
from tests.inproc.conftest import InProcess, fast_settings, running

USES = 20


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The module's own database (an app bootstraps its admin key in it)."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database() as url:
        yield {"database_url": url}


@pytest.fixture(scope="module")
async def app(
    database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcess]:
    settings = fast_settings(tmp_path_factory.mktemp("tokens"), **database)
    async for state in running(settings):
        yield state


async def _token(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read"]}
    )
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def test_one_token_one_winner(app: InProcess) -> None:
    for _ in range(3):
        token = await _token(app.client)
        clients = [app.http() for _ in range(USES)]
        try:
            answers = await asyncio.gather(
                *(
                    c.get("/v1/audio/transcriptions", params={"token": token})
                    for c in clients
                )
            )
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] + [401] * (USES - 1), codes


async def test_revoked_key_takes_its_tokens_along(app: InProcess) -> None:
    created = await app.client.post(
        "/auth/keys", json={"name": "temp", "scopes": ["jobs:read"]}
    )
    assert created.status_code == 201, created.text
    key_id, key = created.json()["id"], created.json()["key"]
    async with app.http(key) as holder:
        used_later = await _token(holder)
        kept = await _token(holder)
    async with app.http() as anon:
        ok = await anon.get("/v1/audio/transcriptions", params={"token": kept})
        assert ok.status_code == 200
        assert (await app.client.delete(f"/auth/keys/{key_id}")).status_code == 204
        refused = await anon.get(
            "/v1/audio/transcriptions", params={"token": used_later}
        )
        assert refused.status_code == 401, refused.text
