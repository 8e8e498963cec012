"""Discovery and system endpoints."""

from __future__ import annotations

import httpx

from tests.server import ServerProcess


def test_health_ready_metrics_docs(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get("/health").json()["status"] == "ok"
        ready = anon.get("/ready").json()
        assert ready["status"] == "ready" and all(ready["checks"].values())
        metrics = anon.get("/metrics")
        assert "dalston_queue_depth" in metrics.text
        assert anon.get("/docs").status_code == 200
        paths = anon.get("/openapi.json").json()["paths"]
        assert "/v1/audio/transcriptions/{job_id}/export/{fmt}" in paths


def test_models_list_and_get(client: httpx.Client) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    by_id = {m["id"]: m for m in models["data"]}
    tiny = by_id["whisper-tiny.en"]
    assert tiny["status"] == "ready" and tiny["source"] == "package"
    assert tiny["languages"] == ["en"] and tiny["engine_id"] == "faster-whisper"
    assert by_id["whisper-base"]["status"] == "ready"
    assert client.get("/v1/models/whisper-base").json()["languages"] is None
    missing = client.get("/v1/models/nope")
    assert missing.status_code == 404
