"""Webhook deliveries are durable: a receiver that fails the first deliveries, a
``kill -9`` of the server after the job completes, a restart, and the event
still arrives once the receiver recovers, signed so ``standardwebhooks``
verifies it, with the attempts in the deliveries list. Embedded (SQLite) and
distributed (PostgreSQL + Redis + S3: gateway and orchestrator processes).

ElevenLabs ``webhook=true`` deliveries ride the same rows: the same kill -9, and
the official SDK's ``construct_event`` verifies what arrives."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from elevenlabs import ElevenLabs
from standardwebhooks.webhooks import Webhook

from tests import compose_stack
from tests.audio_fixtures import JFK
from tests.conftest import fresh_database
from tests.inproc.test_webhooks import Receiver
from tests.server import ServerProcess, submit, wait_for_job
from tests.test_distributed import Cluster

FAST = {
    "DALSTON_WEBHOOK_BACKOFF_S": "0.2",
    "DALSTON_WEBHOOK_POLL_S": "0.1",
    "DALSTON_WEBHOOK_MAX_ATTEMPTS": "20",
    # The kill can land while an attempt is under way: its delivery stays leased
    # to the dead process until the lease ends (60 s by default, as long as the
    # wait for the delivery below: a CI run took 80 s). The receiver answers at
    # once, so a short lease is enough here.
    "DALSTON_WEBHOOK_LEASE_S": "5",
}


def _until(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _kill_and_restart(servers: list[ServerProcess], receiver: Receiver) -> None:
    for server in servers:
        server.stop(signal.SIGKILL)
    receiver.fail = 0  # the receiver recovers while everything is down
    for server in servers:
        server.start()


def _scenario(api: ServerProcess, restart: list[ServerProcess]) -> None:
    receiver = Receiver(fail=10**6)
    try:
        with api.client() as client:
            hook = client.post(
                "/v1/webhooks",
                json={"url": receiver.url, "events": ["transcription.completed"]},
            ).json()
            job_id = submit(client, JFK)
            assert wait_for_job(client, job_id)["status"] == "completed"
        _until(lambda: len(receiver.calls) >= 2)  # failed attempts
        _kill_and_restart(restart, receiver)
        _until(receiver.delivered)
        time.sleep(1)  # nothing else arrives: one delivery, sent once
        [(headers, body)] = receiver.delivered()
        payload = Webhook(hook["signing_secret"]).verify(body, headers)
        assert payload["type"] == "transcription.completed"
        assert payload["data"]["transcription_id"] == job_id
        with api.client() as client:
            listed = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
        [row] = listed["deliveries"]
        assert row["status"] == "succeeded", row
        assert row["attempts"] >= 3, row
        assert row["event_id"] == payload["id"]
    finally:
        receiver.close()


def _elevenlabs_scenario(api: ServerProcess, restart: list[ServerProcess]) -> None:
    receiver = Receiver(fail=10**6)
    try:
        eleven = ElevenLabs(api_key=api.admin_key, base_url=api.url)
        created = eleven.webhooks.create(
            settings={"auth_type": "hmac", "name": "t", "webhook_url": receiver.url}  # type: ignore[arg-type]
        )
        with JFK.open("rb") as audio:
            accepted = eleven.speech_to_text.convert(
                model_id="scribe_v1",
                file=audio,
                webhook=True,
                webhook_metadata={"ticket": 7},
            ).model_dump()
        with api.client() as client:
            job = wait_for_job(client, accepted["transcription_id"])
            assert job["status"] == "completed"
        _until(lambda: len(receiver.calls) >= 2)  # failed attempts
        _kill_and_restart(restart, receiver)
        _until(receiver.delivered)
        time.sleep(1)  # one delivery, sent once
        [(headers, body)] = receiver.delivered()
        event = eleven.webhooks.construct_event(
            body.decode(), headers["ElevenLabs-Signature"], created.webhook_secret
        )
        data = event["data"]
        assert data["request_id"] == accepted["request_id"]
        assert data["transcription_id"] == accepted["transcription_id"]
        assert data["status"] == "completed" and data["webhook_metadata"] == {
            "ticket": 7
        }
        assert data["transcription"]["text"]
    finally:
        receiver.close()


def test_embedded_kill_9(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env=FAST)
    server.start()
    try:
        _scenario(server, [server])
        _elevenlabs_scenario(server, [server])
    finally:
        server.stop()


def test_distributed_kill_9(tmp_path: Path, distributed_env: dict[str, str]) -> None:
    """Gateway and orchestrator both killed; either may send after the restart."""
    with fresh_database() as database_url:
        env = {**distributed_env, **FAST, "DATABASE_URL": database_url}
        cluster = Cluster(tmp_path, env)
        try:
            compose_stack.run_once("migrations", tmp_path / "migrations", cluster.env)
            cluster.gateway.start()
            cluster.orchestrator.start()
            cluster.add_worker("audio-prepare")
            cluster.add_worker("faster-whisper")
            _scenario(cluster.gateway, [cluster.gateway, cluster.orchestrator])
            # Only an API process renders ElevenLabs bodies: the gateway sends it.
            _elevenlabs_scenario(
                cluster.gateway, [cluster.gateway, cluster.orchestrator]
            )
        finally:
            cluster.stop()
