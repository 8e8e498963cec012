"""Job retention (``retention``) and renaming (``PATCH``), in process.

The purge sweep on a schedule and deleting a job's (redacted) audio stay with the
real server in ``tests/test_job_management.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.audio_fixtures import JFK
from tests.inproc.conftest import InProcess

JOBS = "/v1/audio/transcriptions"


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message", "param"}
    return error


async def _new_key(inproc: InProcess, scopes: list[str], tenant: str) -> str:
    response = await inproc.client.post(
        "/auth/keys", json={"name": "test", "scopes": scopes, "tenant_id": tenant}
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


async def _listed_status(client: httpx.AsyncClient, job_id: str) -> str:
    """A job's status from the list, which never counts as delivering it."""
    response = await client.get(JOBS, params={"limit": 100})
    assert response.status_code == 200, response.text
    for job in response.json()["jobs"]:
        if job["id"] == job_id:
            return str(job["status"])
    raise AssertionError(f"job {job_id} is not listed")


# --- retention ----------------------------------------------------------------------
async def test_retention_zero_purges_after_the_first_completed_get(
    inproc: InProcess,
) -> None:
    job_id = await inproc.submit(JFK, retention="0")
    job = await inproc.wait(job_id)  # polls: only the completed GET delivers
    assert job["status"] == "completed", job
    assert job["text"] == inproc.fake.text
    assert job["retention"] == {
        "mode": "after_delivery",
        "days": None,
        "purge_after": None,
    }
    assert inproc.stored_keys(f"jobs/{job_id}/") == []
    client = inproc.client
    assert _error(await client.get(f"{JOBS}/{job_id}"), 404)["code"] == "not_found"
    assert (await client.get(f"{JOBS}/{job_id}/audio")).status_code == 404
    assert all(j["id"] != job_id for j in (await client.get(JOBS)).json()["jobs"])


async def test_retention_zero_purges_after_an_export(inproc: InProcess) -> None:
    client = inproc.client
    job_id = await inproc.submit(JFK, retention="0")
    for _ in range(500):
        if await _listed_status(client, job_id) == "completed":
            break
        await asyncio.sleep(0.02)
    assert inproc.stored_keys(f"jobs/{job_id}/")
    export = await client.get(f"{JOBS}/{job_id}/export/txt")
    assert export.status_code == 200, export.text
    assert "fellow Americans" in export.text
    assert inproc.stored_keys(f"jobs/{job_id}/") == []
    assert _error(await client.get(f"{JOBS}/{job_id}"), 404)["code"] == "not_found"
    assert (await client.get(f"{JOBS}/{job_id}/export/txt")).status_code == 404


async def test_retention_keep_by_default_and_with_minus_one(inproc: InProcess) -> None:
    kept = await inproc.submit(JFK)
    minus_one = await inproc.submit(JFK, retention="-1")
    for job_id in (kept, minus_one):
        job = await inproc.wait(job_id)
        assert job["retention"] == {"mode": "keep", "days": None, "purge_after": None}
        # Still there after being read.
        assert (await inproc.client.get(f"{JOBS}/{job_id}")).status_code == 200


@pytest.mark.parametrize(
    "value", ["abc", "1.5", "2e1", "-2", "3651", "1_0", "100000000000"]
)
async def test_bad_retention_is_400(inproc: InProcess, value: str) -> None:
    response = await inproc.client.post(
        JOBS, files={"file": (JFK.name, JFK.read_bytes())}, data={"retention": value}
    )
    error = _error(response, 400)
    assert error["code"] == "invalid_request"
    assert error["param"] == "retention"


# --- renaming -----------------------------------------------------------------------
async def test_patch_renames_a_job(inproc: InProcess) -> None:
    client = inproc.client
    job_id = await inproc.submit(JFK)
    response = await client.patch(
        f"{JOBS}/{job_id}", json={"display_name": "Inaugural"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == job_id and body["display_name"] == "Inaugural"
    assert "retention" in body and "stages" in body
    job = await inproc.wait(job_id)
    assert job["display_name"] == "Inaugural"
    listed = [j for j in (await client.get(JOBS)).json()["jobs"] if j["id"] == job_id]
    assert listed and listed[0]["display_name"] == "Inaugural"
    longest = "n" * 255
    response = await client.patch(f"{JOBS}/{job_id}", json={"display_name": longest})
    assert response.status_code == 200 and response.json()["display_name"] == longest

    # Errors, in the native shape.
    for bad in ({"display_name": ""}, {"display_name": "x" * 256}, {}):
        error = _error(await client.patch(f"{JOBS}/{job_id}", json=bad), 422)
        assert error["code"] == "validation_error"
        assert error["param"] == "display_name", error
    for bad in ({"display_name": "   "}, {"display_name": 5}):
        error = _error(await client.patch(f"{JOBS}/{job_id}", json=bad), 422)
        assert error["param"] == "display_name", error
    response = await client.patch(
        f"{JOBS}/{job_id}", json={"display_name": "a", "model": "b"}
    )
    assert _error(response, 422)["param"] == "model"
    not_json = await client.patch(
        f"{JOBS}/{job_id}",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    not_json_error = _error(not_json, 422)
    assert not_json_error["code"] == "validation_error"
    # No field is at fault (FastAPI's loc is the byte offset).
    assert not_json_error.get("param") is None, not_json_error
    assert "not valid JSON" in not_json_error["message"], not_json_error
    current = (await client.get(f"{JOBS}/{job_id}")).json()
    assert current["display_name"] == longest

    missing = await client.patch(
        f"{JOBS}/00000000-0000-0000-0000-000000000000", json={"display_name": "x"}
    )
    assert _error(missing, 404)["code"] == "not_found"
    other_key = await _new_key(inproc, ["jobs:read", "jobs:write"], "other-tenant")
    async with inproc.http(other_key) as other:
        foreign = await other.patch(f"{JOBS}/{job_id}", json={"display_name": "mine"})
        assert _error(foreign, 404)["code"] == "not_found"
    read_key = await _new_key(inproc, ["jobs:read"], "default")
    async with inproc.http(read_key) as reader:
        refused = await reader.patch(f"{JOBS}/{job_id}", json={"display_name": "mine"})
        assert _error(refused, 403)["code"] == "forbidden"
    current = (await client.get(f"{JOBS}/{job_id}")).json()
    assert current["display_name"] == longest
