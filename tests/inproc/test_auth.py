"""API keys: 401 without a valid key, 403 without the scope, 404 across tenants."""

from __future__ import annotations

import httpx

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess


async def _new_key(
    client: httpx.AsyncClient, scopes: list[str], tenant: str | None = None
) -> str:
    body: dict[str, object] = {"name": "test", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    response = await client.post("/auth/keys", json=body)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    assert key.startswith("dk_")
    return key


async def test_missing_or_invalid_key_is_401(inproc: InProcess) -> None:
    async with inproc.http() as anon:
        response = await anon.get("/v1/audio/transcriptions")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        bad = await anon.get(
            "/v1/audio/transcriptions", headers={"Authorization": "Bearer dk_nope"}
        )
        assert bad.status_code == 401


async def test_xi_api_key_header_is_accepted(inproc: InProcess) -> None:
    async with inproc.http() as anon:
        response = await anon.get("/auth/me", headers={"xi-api-key": inproc.admin_key})
    assert response.status_code == 200
    assert "admin" in response.json()["scopes"]


async def test_auth_off_needs_no_key(open_inproc: InProcess) -> None:
    async with open_inproc.http() as anon:
        assert (await anon.get("/v1/audio/transcriptions")).status_code == 200
        job_id = await open_inproc.submit(JFK)
    assert (await open_inproc.wait(job_id))["status"] == "completed"


async def test_read_only_key_cannot_submit(inproc: InProcess) -> None:
    reader = await _new_key(inproc.client, ["jobs:read"])
    async with inproc.http(reader) as limited:
        response = await limited.post(
            "/v1/audio/transcriptions",
            files={"file": ("a.flac", JFK.read_bytes())},
        )
        assert response.status_code == 403
        assert "jobs:write" in response.json()["error"]["message"]
        assert (await limited.get("/v1/audio/transcriptions")).status_code == 200
        assert (await limited.post("/auth/keys", json={"name": "x"})).status_code == 403


async def test_other_tenant_sees_404(inproc: InProcess) -> None:
    job_id = await inproc.submit(JFK)
    outsider = await _new_key(
        inproc.client, ["jobs:read", "jobs:write"], tenant="tenant-b"
    )
    async with inproc.http(outsider) as other:
        path = f"/v1/audio/transcriptions/{job_id}"
        assert (await other.get(path)).status_code == 404
        assert (await other.post(f"{path}/cancel")).status_code == 404
        assert (await other.delete(path)).status_code == 404
        listed = (await other.get("/v1/audio/transcriptions")).json()["jobs"]
        assert job_id not in {j["id"] for j in listed}
    assert (await inproc.wait(job_id))["status"] == "completed"


async def test_revoked_key_is_refused(inproc: InProcess) -> None:
    created = await inproc.client.post(
        "/auth/keys", json={"name": "temp", "scopes": ["jobs:read"]}
    )
    key_id, key = created.json()["id"], created.json()["key"]
    async with inproc.http(key) as temp:
        assert (await temp.get("/auth/me")).status_code == 200
        assert (await inproc.client.delete(f"/auth/keys/{key_id}")).status_code == 204
        assert (await temp.get("/auth/me")).status_code == 401


async def test_admin_key_file_is_private(inproc: InProcess) -> None:
    mode = inproc.runtime.settings.admin_key_file.stat().st_mode & 0o777
    assert mode == 0o600


async def test_single_use_token_works_once(inproc: InProcess) -> None:
    created = await inproc.client.post(
        "/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read"]}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("tk_") and created.json()["scopes"] == ["jobs:read"]
    async with inproc.http() as anon:
        params = {"token": token}
        first = await anon.get("/v1/audio/transcriptions", params=params)
        assert first.status_code == 200
        again = await anon.get("/v1/audio/transcriptions", params=params)
        assert again.status_code == 401


async def test_token_cannot_exceed_its_issuer(inproc: InProcess) -> None:
    reader = await _new_key(inproc.client, ["jobs:read"])
    async with inproc.http(reader) as limited:
        created = await limited.post("/auth/tokens", json={"scopes": ["jobs:write"]})
        assert created.status_code == 201
        assert created.json()["scopes"] == []  # not granted: the issuer lacks it
