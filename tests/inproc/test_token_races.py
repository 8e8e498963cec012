"""Single-use tokens under concurrency, and after their key is revoked, on SQLite
(embedded) and PostgreSQL (distributed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.inproc.conftest import InProcess, fast_settings, running

USES = 20


@pytest.fixture(scope="module")
async def app(
    both_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcess]:
    settings = fast_settings(tmp_path_factory.mktemp("tokens"), **both_databases)
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


async def _elevenlabs_token(client: httpx.AsyncClient) -> str:
    created = await client.post("/v1/single-use-token/realtime_scribe")
    assert created.status_code == 200, created.text
    token: str = created.json()["token"]
    return token


async def _openai_secret(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/v1/realtime/client_secrets", json={"expires_after": {"seconds": 60}}
    )
    assert created.status_code == 200, created.text
    secret: str = created.json()["value"]
    return secret


@pytest.mark.parametrize("kind", ["elevenlabs", "openai"])
async def test_realtime_tokens_one_winner(app: InProcess, kind: str) -> None:
    """ElevenLabs single-use tokens (``?token=``) and OpenAI ephemeral client
    secrets (``Authorization: Bearer``) are consumed once as well: of 20
    concurrent calls to a route their ``realtime`` scope opens, one passes."""
    if kind == "elevenlabs":
        token = await _elevenlabs_token(app.client)
        params, headers = {"token": token}, {}
    else:
        token = await _openai_secret(app.client)
        params, headers = {}, {"Authorization": f"Bearer {token}"}
    clients = [app.http() for _ in range(USES)]
    try:
        answers = await asyncio.gather(
            *(
                c.post(
                    "/v1/realtime/client_secrets",
                    params=params,
                    headers=headers,
                    json={"expires_after": {"seconds": 60}},
                )
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


async def test_revoked_key_takes_its_realtime_tokens_along(app: InProcess) -> None:
    """An ElevenLabs single-use token or an OpenAI client secret minted with a key
    is refused once that key is revoked."""
    created = await app.client.post(
        "/auth/keys", json={"name": "temp-rt", "scopes": ["realtime"]}
    )
    assert created.status_code == 201, created.text
    key_id, key = created.json()["id"], created.json()["key"]
    async with app.http(key) as holder:
        eleven = await _elevenlabs_token(holder)
        secret = await _openai_secret(holder)
    assert (await app.client.delete(f"/auth/keys/{key_id}")).status_code == 204
    async with app.http() as anon:
        by_query = await anon.post(
            "/v1/realtime/client_secrets", params={"token": eleven}, json={}
        )
        assert by_query.status_code == 401, by_query.text
        by_header = await anon.post(
            "/v1/realtime/client_secrets",
            headers={"Authorization": f"Bearer {secret}"},
            json={},
        )
        assert by_header.status_code == 401, by_header.text
