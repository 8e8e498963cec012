"""Discovery and system endpoints."""

from __future__ import annotations

from tests.inproc.conftest import InProcess


async def test_health_ready_metrics_docs(inproc: InProcess) -> None:
    async with inproc.http() as anon:
        assert (await anon.get("/health")).json()["status"] == "healthy"
        ready = (await anon.get("/ready")).json()
        assert ready["status"] == "ready" and all(ready["checks"].values())
        metrics = await anon.get("/metrics")
        assert "dalston_queue_depth" in metrics.text
        assert (await anon.get("/docs")).status_code == 200
        paths = (await anon.get("/openapi.json")).json()["paths"]
        assert "/v1/audio/transcriptions/{job_id}/export/{fmt}" in paths


async def test_models_list_and_get(inproc: InProcess) -> None:
    client = inproc.client
    models = (await client.get("/v1/models")).json()
    assert models["object"] == "list"
    by_id = {m["id"]: m for m in models["data"]}
    tiny = by_id["whisper-tiny.en"]
    assert tiny["status"] == "ready" and tiny["source"] == "package"
    assert tiny["languages"] == ["en"] and tiny["engine_id"] == "faster-whisper"
    assert by_id["whisper-base"]["status"] == "ready"
    assert (await client.get("/v1/models/whisper-base")).json()["languages"] is None
    missing = await client.get("/v1/models/nope")
    assert missing.status_code == 404
