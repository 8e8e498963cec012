"""API keys: 401 without a valid key, 403 without the scope, 404 across tenants."""

from __future__ import annotations

import httpx

from tests.audio_fixtures import JFK
from tests.server import ServerProcess, submit, wait_for_job


def _new_key(client: httpx.Client, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, object] = {"name": "test", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    response = client.post("/auth/keys", json=body)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    assert key.startswith("dk_")
    return key


def test_missing_or_invalid_key_is_401(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as anon:
        response = anon.get("/v1/audio/transcriptions")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        bad = anon.get(
            "/v1/audio/transcriptions", headers={"Authorization": "Bearer dk_nope"}
        )
        assert bad.status_code == 401


def test_xi_api_key_header_is_accepted(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as anon:
        response = anon.get("/auth/me", headers={"xi-api-key": server.admin_key})
    assert response.status_code == 200
    assert "admin" in response.json()["scopes"]


def test_read_only_key_cannot_submit(
    client: httpx.Client, server: ServerProcess
) -> None:
    reader = _new_key(client, ["jobs:read"])
    with server.client(reader) as limited:
        with JFK.open("rb") as audio:
            response = limited.post(
                "/v1/audio/transcriptions", files={"file": ("a.flac", audio)}
            )
        assert response.status_code == 403
        assert "jobs:write" in response.json()["error"]["message"]
        assert limited.get("/v1/audio/transcriptions").status_code == 200
        assert limited.post("/auth/keys", json={"name": "x"}).status_code == 403


def test_other_tenant_sees_404(client: httpx.Client, server: ServerProcess) -> None:
    job_id = submit(client, JFK)
    outsider = _new_key(client, ["jobs:read", "jobs:write"], tenant="tenant-b")
    with server.client(outsider) as other:
        assert other.get(f"/v1/audio/transcriptions/{job_id}").status_code == 404
        assert (
            other.post(f"/v1/audio/transcriptions/{job_id}/cancel").status_code == 404
        )
        assert other.delete(f"/v1/audio/transcriptions/{job_id}").status_code == 404
        listed = other.get("/v1/audio/transcriptions").json()["jobs"]
        assert job_id not in {j["id"] for j in listed}
    assert wait_for_job(client, job_id)["status"] == "completed"


def test_revoked_key_is_refused(client: httpx.Client, server: ServerProcess) -> None:
    created = client.post("/auth/keys", json={"name": "temp", "scopes": ["jobs:read"]})
    key_id, key = created.json()["id"], created.json()["key"]
    with server.client(key) as temp:
        assert temp.get("/auth/me").status_code == 200
        assert client.delete(f"/auth/keys/{key_id}").status_code == 204
        assert temp.get("/auth/me").status_code == 401


def test_admin_key_file_is_private(server: ServerProcess) -> None:
    mode = (server.data_dir / "admin_key").stat().st_mode & 0o777
    assert mode == 0o600


def test_single_use_token_works_once(
    client: httpx.Client, server: ServerProcess
) -> None:
    created = client.post("/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read"]})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("tk_") and created.json()["scopes"] == ["jobs:read"]
    with httpx.Client(base_url=server.url) as anon:
        first = anon.get("/v1/audio/transcriptions", params={"token": token})
        assert first.status_code == 200
        again = anon.get("/v1/audio/transcriptions", params={"token": token})
        assert again.status_code == 401


def test_token_cannot_exceed_its_issuer(
    client: httpx.Client, server: ServerProcess
) -> None:
    reader = _new_key(client, ["jobs:read"])
    with server.client(reader) as limited:
        created = limited.post("/auth/tokens", json={"scopes": ["jobs:write"]})
        assert created.status_code == 201
        assert created.json()["scopes"] == []  # not granted: the issuer lacks it
