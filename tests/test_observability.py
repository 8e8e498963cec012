"""Metrics, traces and JSON logs of a real server running one real job: an OTLP
receiver in the test collects the spans the server exports."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from tests import compose_stack
from tests.conftest import fresh_database
from tests.realtime_client import of_type, pcm16, stream
from tests.server import ServerProcess, submit, wait_for_job

CLIP = Path(__file__).parent / "data" / "deepspeech_ldc93s1_8k.wav"
LONG_CLIP = Path(__file__).parent / "data" / "pyannote_sample.wav"  # 30 s


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource in request.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    ),
                    "",
                )
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.server.spans.append(  # type: ignore[attr-defined]
                            {
                                "name": span.name,
                                "service": service,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "attributes": {
                                    a.key: a.value.string_value or a.value.int_value
                                    for a in span.attributes
                                },
                            }
                        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.spans = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.model
def test_one_job_one_trace_metrics_and_json_logs(
    tmp_path: Path, receiver: ThreadingHTTPServer
) -> None:
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    server = ServerProcess(
        tmp_path,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_SERVICE_NAME": "dalston-test",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "DALSTON_LOG_FORMAT": "json",
        },
    )
    server.start()
    try:
        with server.client() as client:
            job_id = submit(client, CLIP)
            body = wait_for_job(client, job_id)
            assert body["status"] == "completed", body
            url = f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream"
            headers = {"Authorization": f"Bearer {server.admin_key}"}
            live = asyncio.run(
                stream(f"{url}?language=en", pcm16(CLIP), headers=headers, pace=2)
            )
            metrics = client.get("/metrics").text
    finally:
        server.stop()
    spans: list[dict[str, Any]] = receiver.spans  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        s["name"].startswith("engine transcribe") for s in spans
    ):
        time.sleep(0.1)

    # One trace: the request, job creation, and each stage's dispatch and run.
    create = [s for s in spans if s["name"] == "job.create"]
    assert len(create) == 1, [s["name"] for s in spans]
    trace_id = create[0]["trace_id"]
    in_trace = [s for s in spans if s["trace_id"] == trace_id]
    names = {s["name"] for s in in_trace}
    # The request's span is the trace's root. FastAPI's own span for the route
    # carries the same name as its child, and the two end in either order.
    request = [s for s in in_trace if s["name"].startswith("POST ")]
    roots = [s for s in request if s["parent"] == ""]
    assert len(roots) == 1, request
    assert roots[0]["attributes"]["http.route"] == "/v1/audio/transcriptions"
    engine_spans = [s for s in spans if s["name"].startswith("engine ")]
    stages = {s["name"].removeprefix("engine ") for s in engine_spans}
    assert {"prepare", "transcribe"} <= stages, names
    for span in engine_spans:
        assert span["trace_id"] == trace_id, span
        assert span["attributes"]["dalston.job_id"] == job_id
        assert span["attributes"]["dalston.task_id"]
        assert span["attributes"]["dalston.engine"]
    for stage in stages:
        assert f"dispatch {stage}" in names, names
    assert all(s["service"] == "dalston-test" for s in in_trace)

    # The histograms, after a job.
    for name in (
        'dalston_http_request_seconds_bucket{le="0.005",method="POST",'
        'route="/v1/audio/transcriptions",status="201"}',
        'dalston_job_seconds_count{status="completed"}',
        "dalston_stage_seconds_bucket",
        "dalston_queue_wait_seconds_count",
        "dalston_audio_seconds_processed_total",
        "dalston_rtfx_count",
        "dalston_webhook_deliveries_total",
        "dalston_realtime_first_partial_seconds_count",
    ):
        assert name in metrics, name
    # The live session: its finals' latency, and its first partial's if any.
    assert of_type(live, "transcript.final"), live
    assert _sample(metrics, "dalston_realtime_final_latency_seconds_count") >= 1
    if of_type(live, "transcript.partial"):
        assert _sample(metrics, "dalston_realtime_first_partial_seconds_count") == 1

    # JSON log lines, some about the job and in its trace.
    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    assert parsed and len(parsed) >= len(lines) // 2, lines[:20]
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    about_job = [p for p in parsed if p.get("job_id") == job_id]
    assert about_job, parsed[-20:]
    assert any(p.get("trace_id") == trace_id for p in about_job), about_job
    assert any(p["logger"].startswith("uvicorn") for p in parsed)


def test_metrics_port_serves_registry() -> None:
    from dalston import telemetry
    from tests.server import free_port

    port = free_port()
    telemetry.record_webhook_delivery("delivered")
    telemetry.serve_metrics(port)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'dalston_webhook_deliveries_total{outcome="delivered"} 1.0' in text


@pytest.mark.model
def test_distributed_job_is_one_trace_across_processes(
    tmp_path: Path,
    receiver: ThreadingHTTPServer,
    distributed_env: dict[str, str],
) -> None:
    """Gateway, orchestrator and workers as separate processes over Redis: the
    trace context crosses the queue, so every stage's spans are in one trace."""
    from tests.test_distributed import Cluster, _engines

    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with fresh_database() as database_url:
        cluster = Cluster(
            tmp_path, {**distributed_env, **otel, "DATABASE_URL": database_url}
        )
        try:
            compose_stack.run_once("migrations", tmp_path / "migrations", cluster.env)
            cluster.gateway.start()
            cluster.orchestrator.start()
            cluster.add_worker("audio-prepare")
            cluster.add_worker("faster-whisper")
            with cluster.gateway.client() as client:
                _engines(client, {"audio-prepare": 1, "faster-whisper": 1})
                job_id = submit(client, CLIP)
                assert wait_for_job(client, job_id)["status"] == "completed"
        finally:
            cluster.stop()  # flushes every process's spans
    spans: list[dict[str, Any]] = receiver.spans  # type: ignore[attr-defined]
    create = next(s for s in spans if s["name"] == "job.create")
    ours = [s for s in spans if s["trace_id"] == create["trace_id"]]
    services = {s["service"] for s in ours}
    assert {"dalston-gateway", "dalston-orch"} <= services, services
    assert any(s.startswith("dalston-worker-") for s in services), services
    engine = {s["name"] for s in ours if s["name"].startswith("engine ")}
    assert {"engine prepare", "engine transcribe"} <= engine, engine
    assert all(
        s["attributes"]["dalston.job_id"] == job_id
        for s in ours
        if s["name"].startswith(("engine ", "dispatch "))
    )


def test_work_dispatched_after_a_crash_stays_in_the_jobs_trace(
    tmp_path: Path, receiver: ThreadingHTTPServer
) -> None:
    """The server is killed (-9) while a stage runs; the restarted server's
    recovery dispatches it again outside any request, and those spans still join
    the trace of the request that made the job (its context is kept on the job)."""
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    server = ServerProcess(
        tmp_path,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
    )
    spans: list[dict[str, Any]] = receiver.spans  # type: ignore[attr-defined]
    server.start()
    try:
        with server.client() as client:
            job_id = submit(client, LONG_CLIP, word_alignment="false")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stages = client.get(f"/v1/audio/transcriptions/{job_id}").json()[
                    "stages"
                ]
                if any(
                    s["stage"] == "transcribe" and s["status"] == "running"
                    for s in stages
                ):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"transcribe never ran: {stages}")
            time.sleep(0.5)  # the first process's spans so far are exported
        server.stop(signal.SIGKILL)
        server.start()
        with server.client() as client:
            body = wait_for_job(client, job_id)
            assert body["status"] == "completed", body
            assert "traceparent" not in body["parameters"]  # kept for the server
    finally:
        server.stop()
    create = next(s for s in spans if s["name"] == "job.create")
    dispatched = [
        s
        for s in spans
        if s["name"] == "dispatch transcribe"
        and s["attributes"].get("dalston.job_id") == job_id
    ]
    assert len(dispatched) >= 2, [s["name"] for s in spans]  # before and after
    assert all(s["trace_id"] == create["trace_id"] for s in dispatched), dispatched
    engine = [
        s
        for s in spans
        if s["name"] == "engine transcribe"
        and s["attributes"].get("dalston.job_id") == job_id
    ]
    assert engine and all(s["trace_id"] == create["trace_id"] for s in engine)
