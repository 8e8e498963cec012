"""``GET /v1/audio/transcriptions/{id}/audio``: the upload streamed back (ranges,
scopes, tenants), and a clear 404 once the file is gone; in process."""

from __future__ import annotations

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess


async def _key(inproc: InProcess, scopes: list[str], tenant: str | None = None) -> str:
    body: dict[str, object] = {"name": "audio-test", "scopes": scopes}
    if tenant:
        body["tenant_id"] = tenant
    response = await inproc.client.post("/auth/keys", json=body)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


async def test_job_audio_streams_the_upload(inproc: InProcess) -> None:
    client = inproc.client
    job_id = await inproc.submit(JFK)
    url = f"/v1/audio/transcriptions/{job_id}/audio"

    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.content == JFK.read_bytes()
    assert response.headers["content-type"] == "audio/flac"
    assert response.headers["content-disposition"].startswith("inline")

    # Range requests work, so a player can seek in a plain URL too.
    part = await client.get(url, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206
    assert part.content == b"fLaC"

    async with inproc.http() as anon:
        assert (await anon.get(url)).status_code == 401
    async with inproc.http(await _key(inproc, ["jobs:write"])) as writer:
        forbidden = await writer.get(url)
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "forbidden"
    other_key = await _key(inproc, ["jobs:read"], tenant="audio-other")
    async with inproc.http(other_key) as other:
        assert (await other.get(url)).status_code == 404

    await inproc.wait(job_id)
    assert (
        await client.delete(f"/v1/audio/transcriptions/{job_id}")
    ).status_code == 204
    gone = await client.get(url)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


async def test_job_audio_404_when_the_file_is_gone(inproc: InProcess) -> None:
    job_id = await inproc.submit(JFK)
    await inproc.wait(job_id)
    folder = inproc.runtime.settings.artifacts_dir / "jobs" / job_id / "audio"
    assert folder.is_dir()
    for path in folder.iterdir():
        path.unlink()
    response = await inproc.client.get(f"/v1/audio/transcriptions/{job_id}/audio")
    assert response.status_code == 404
    assert "no longer stored" in response.json()["error"]["message"]
    deleted = await inproc.client.delete(f"/v1/audio/transcriptions/{job_id}")
    assert deleted.status_code == 204
