"""Distributed mode with real processes: a gateway, an orchestrator and engine
workers sharing PostgreSQL, Redis Streams and S3 (moto), on one machine."""

from __future__ import annotations

import itertools
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dalston.eval.scoring import wer
from tests import compose_stack
from tests.audio_fixtures import DATA, JFK, long_speech_wav
from tests.conftest import fresh_database
from tests.server import ServerProcess, submit, wait_for_job

# Gateway, orchestrator and workers as separate processes, with the real model.
pytestmark = pytest.mark.model

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"
JFK_TEXT = (DATA / "whisper_jfk.txt").read_text()


class Cluster:
    """The processes of docker-compose.yml (its commands and settings, read by
    tests/compose_stack.py) on this machine's PostgreSQL, Redis and moto S3."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        # Own Redis keys, so clusters of different tests never share tasks.
        self.env = {
            **env,
            "DALSTON_REDIS_PREFIX": f"dalston-test-{uuid.uuid4().hex[:8]}",
        }
        self._made = 0
        self.gateway = self._proc("gateway")
        self.orchestrator = self._proc("orchestrator")
        self.workers: list[ServerProcess] = []

    def _proc(self, service: str) -> ServerProcess:
        self._made += 1
        return compose_stack.process(
            service, self.root / f"{service}-{self._made}", self.env
        )

    def add_worker(self, engine: str) -> ServerProcess:
        worker = self._proc(compose_stack.worker_service(engine))
        worker.start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for proc in (*self.workers, self.orchestrator, self.gateway):
            proc.stop()


@pytest.fixture
def cluster(tmp_path: Path, distributed_env: dict[str, str]) -> Iterator[Cluster]:
    # A database of its own: the gateway's first start creates its admin key.
    with fresh_database() as database_url:
        c = Cluster(tmp_path, {**distributed_env, "DATABASE_URL": database_url})
        try:
            compose_stack.run_once("migrations", tmp_path / "migrations", c.env)
            c.gateway.start()
            c.orchestrator.start()
            c.add_worker("audio-prepare")
            yield c
        finally:
            c.stop()


def _engines(client: httpx.Client, want: dict[str, int], timeout: float = 90) -> None:
    """Wait until the registry shows ``want`` ready workers per engine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engines = client.get("/v1/engines").json()["engines"]
        ready: dict[str, int] = {}
        for e in engines:
            if e["status"] == "ready":
                ready[e["engine_id"]] = ready.get(e["engine_id"], 0) + 1
        if all(ready.get(k, 0) >= n for k, n in want.items()):
            return
        time.sleep(0.3)
    raise AssertionError(f"workers not ready: {engines}")


def _wait_stage(client: httpx.Client, job_id: str, stage: str, status: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/v1/audio/transcriptions/{job_id}").json()
        if any(s["stage"] == stage and s["status"] == status for s in job["stages"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"{stage} never {status}")


def test_job_through_separate_processes(cluster: Cluster) -> None:
    cluster.add_worker("faster-whisper")
    with cluster.gateway.client() as client:
        _engines(client, {"audio-prepare": 1, "faster-whisper": 1})
        job = wait_for_job(client, submit(client, JFK))
        assert job["status"] == "completed", job
        assert wer([JFK_TEXT], [job["text"]]) <= 0.1
        engines = client.get("/v1/engines").json()
        hosts = {e["pid"] for e in engines["engines"]}
        assert len(hosts) == 2  # one process per engine worker
        ready = client.get("/ready").json()
        assert ready["checks"] == {
            "database": True,
            "storage": True,
            "queue": True,
            "webhooks": True,  # the delivery loop every API process runs
            "live sessions": True,  # and the stamps of its streams' records
        }


def _worker_models(client: httpx.Client, engine_id: str) -> list[str]:
    engines = client.get("/v1/engines").json()["engines"]
    worker = next(e for e in engines if e["engine_id"] == engine_id)
    models: list[str] = worker["loaded_models"]
    return models


def _until(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.3)


def test_a_workers_idle_model_unloads_and_the_gateway_reports_it(
    cluster: Cluster,
) -> None:
    """A worker reports its loaded models in its heartbeats (every 5 s, and at
    once when they change): loaded after a job, unloaded once idle for the
    worker's ``DALSTON_MODEL_IDLE_TTL_S``; the next job loads it again, and
    ``GET /v1/models`` follows (the compose stack's gateway holds no realtime
    slots, so no model of its own). Each change shows well inside a heartbeat
    period (the waits below are shorter than one)."""
    ttl = 4.0
    cluster.env = {**cluster.env, "DALSTON_MODEL_IDLE_TTL_S": str(ttl)}
    worker = cluster.add_worker("faster-whisper")
    model = "whisper-tiny.en"
    with cluster.gateway.client() as client:
        _engines(client, {"audio-prepare": 1, "faster-whisper": 1})
        for _ in range(2):  # loaded, unloaded; loaded again, unloaded again
            job = wait_for_job(client, submit(client, JFK))
            assert job["status"] == "completed", job
            assert wer([JFK_TEXT], [job["text"]]) <= 0.1
            _until(
                "reported loaded",
                lambda: model in _worker_models(client, "faster-whisper"),
                2.5,
            )
            _until(
                "reported unloaded",
                lambda: model not in _worker_models(client, "faster-whisper"),
                ttl + 5,
            )
        assert "again after an idle unload" in worker.log()
        assert client.get(f"/v1/models/{model}").json()["loaded"] is False
        # Nothing holds a hub model: its (absent) weights are the gateway's to
        # remove; a packaged one is not.
        assert client.delete("/v1/models/whisper-small").status_code == 204
        assert client.delete(f"/v1/models/{model}").status_code == 409


ENRICHMENT_ENGINES = (
    "pocketsphinx-align",
    "resemblyzer-diarize",
    "transcript-merge",
    "presidio-pii",
    "audio-redact",
)


def test_enrichment_stages_on_their_own_workers(cluster: Cluster) -> None:
    """Each enrichment engine as a separate worker process, over Redis and S3. The
    gateway refuses a stage while no live worker serves its engine."""
    two_speakers = DATA / "pyannote_sample.wav"  # names and places, two voices
    cluster.add_worker("faster-whisper")
    with cluster.gateway.client() as client:
        _engines(client, {"audio-prepare": 1, "faster-whisper": 1})
        with two_speakers.open("rb") as audio:
            refused = client.post(
                "/v1/audio/transcriptions",
                files={"file": ("a.wav", audio)},
                data={"speaker_detection": "diarize"},
            )
        assert refused.status_code == 400, refused.text
        assert "resemblyzer-diarize" in refused.json()["error"]["message"]
        for engine in ENRICHMENT_ENGINES:
            cluster.add_worker(engine)
        _engines(client, dict.fromkeys(ENRICHMENT_ENGINES, 1))
        job_id = submit(
            client,
            two_speakers,
            speaker_detection="diarize",
            pii_detection="true",
            redact_pii_audio="true",
            pii_redaction_mode="beep",
        )
        job = wait_for_job(client, job_id)
        assert job["status"] == "completed", job
        assert [s["stage"] for s in job["stages"]] == [
            "prepare",
            "transcribe",
            "align",
            "diarize",
            "merge",
            "pii",
            "redact",
        ]
        assert len(job["speakers"]) == 2
        assert all(w["speaker"] for w in job["words"])
        assert {e["entity_type"] for e in job["entities"]} >= {"PERSON", "LOCATION"}
        signed = client.get(
            f"/v1/audio/transcriptions/{job_id}/audio/redacted",
            params={"presigned": "true"},
        )
        assert signed.status_code == 200, signed.text
        redacted = httpx.get(signed.json()["url"], timeout=30)
        assert redacted.status_code == 200
        assert redacted.content[:4] == b"RIFF"
        engines = client.get("/v1/engines").json()["engines"]
        assert len({e["pid"] for e in engines}) == 2 + len(ENRICHMENT_ENGINES)


def test_alignment_follows_transcription_across_workers(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The align worker starts on the transcript so far, which the transcribe
    worker publishes through S3, and finishes on the whole one."""
    cluster.add_worker("faster-whisper")
    cluster.add_worker("pocketsphinx-align")
    # Transcribed in ~8 s here (its first version is published after 1 s).
    audio = long_speech_wav(tmp_path / "long.wav", 40)
    with cluster.gateway.client() as client:
        _engines(client, {"faster-whisper": 1, "pocketsphinx-align": 1})
        job_id = submit(client, audio, word_alignment="true")
        job = wait_for_job(client, job_id, timeout=240)
    assert job["status"] == "completed", job
    stages = {s["stage"]: s for s in job["stages"]}
    assert _time(stages["align"]["started_at"]) < _time(
        stages["transcribe"]["completed_at"]
    )
    assert "country" in job["text"]
    words = job["words"]
    assert all(a["start"] <= b["start"] for a, b in itertools.pairwise(words))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_killed_worker_task_is_finished_by_another(
    cluster: Cluster, tmp_path: Path
) -> None:
    doomed = cluster.add_worker("faster-whisper")
    audio = long_speech_wav(tmp_path / "long.wav", 40)
    with cluster.gateway.client() as client:
        _engines(client, {"faster-whisper": 1})
        job_id = submit(client, audio)
        _wait_stage(client, job_id, "transcribe", "running")
        doomed.stop(signal.SIGKILL)
        cluster.add_worker("faster-whisper")  # reclaims after the visibility timeout
        job = wait_for_job(client, job_id, timeout=240)
    assert job["status"] == "completed", job
    assert "country" in job["text"]
    transcribe = job["stages"][1]
    assert transcribe["status"] == "succeeded" and transcribe["error"] is None


def test_orchestrator_restart_mid_job(cluster: Cluster, tmp_path: Path) -> None:
    cluster.add_worker("faster-whisper")
    audio = long_speech_wav(tmp_path / "long.wav", 30)
    with cluster.gateway.client() as client:
        _engines(client, {"faster-whisper": 1})
        job_id = submit(client, audio)
        _wait_stage(client, job_id, "transcribe", "running")
        cluster.orchestrator.stop(signal.SIGKILL)
        time.sleep(1)
        cluster.orchestrator.start()
        job = wait_for_job(client, job_id, timeout=240)
    assert job["status"] == "completed", job
    assert "country" in job["text"]


def test_twenty_jobs_on_two_workers(cluster: Cluster) -> None:
    cluster.add_worker("faster-whisper")
    cluster.add_worker("faster-whisper")
    # A second orchestrator: outcomes are split between the two, and row locks keep
    # them from scheduling any stage twice.
    second = cluster._proc("orchestrator")  # a second replica of the service
    second.start()
    cluster.workers.append(second)
    reference = LIBRI.with_suffix(".txt").read_text()
    with cluster.gateway.client() as client:
        _engines(client, {"faster-whisper": 2})
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: submit(client, LIBRI), range(20)))
        jobs = [wait_for_job(client, job_id, timeout=400) for job_id in ids]
    assert len(set(ids)) == 20
    assert [j["status"] for j in jobs] == ["completed"] * 20
    for job in jobs:
        assert wer([reference], [job["text"]]) <= 0.1
        # Each stage ran to one success: nothing lost, nothing applied twice.
        assert [s["status"] for s in job["stages"]] == ["succeeded", "succeeded"]
        assert [s["retries"] for s in job["stages"]] == [0, 0], job["stages"]


@contextmanager
def realtime_cluster(
    tmp_path: Path, distributed_env: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A gateway that serves no session itself (every one goes to the worker) and
    one realtime worker with two slots, registered, on a database of their own."""
    with fresh_database() as database_url:
        env = {**distributed_env, "DATABASE_URL": database_url}
        env["DALSTON_REDIS_PREFIX"] = f"dalston-test-{uuid.uuid4().hex[:8]}"
        # docker-compose.yml's gateway (no sessions of its own) and realtime worker.
        gateway = compose_stack.process("gateway", tmp_path / "gw", env)
        worker = compose_stack.process("realtime-worker", tmp_path / "rt", env)
        compose_stack.run_once("migrations", tmp_path / "migrations", env)
        worker.env["DALSTON_ADVERTISE_URL"] = f"ws://127.0.0.1:{worker.port}"
        try:
            gateway.start()
            worker.start()
            with gateway.client() as client:
                deadline = time.monotonic() + 30
                while not client.get("/v1/realtime/workers").json()["workers"]:
                    assert time.monotonic() < deadline, "the worker never registered"
                    time.sleep(0.3)
            yield gateway, worker
        finally:
            worker.stop()
            gateway.stop()


def test_realtime_sessions_on_a_remote_worker(
    tmp_path: Path, distributed_env: dict[str, str]
) -> None:
    from tests.realtime_client import of_type, pcm16, stream

    with realtime_cluster(tmp_path, distributed_env) as (gateway, _):
        with gateway.client() as client:
            workers = client.get("/v1/realtime/workers").json()["workers"]
            slots = compose_stack.role("realtime-worker").env
            want = int(slots["DALSTON_REALTIME_CAPACITY"])
            assert [w["capacity"] for w in workers] == [want], workers
        url = (
            f"ws://127.0.0.1:{gateway.port}/v1/audio/transcriptions/stream?language=en"
        )
        headers = {"Authorization": f"Bearer {gateway.admin_key}"}
        import asyncio

        result = asyncio.run(stream(url, pcm16(LIBRI), headers=headers))
        finals = of_type(result, "transcript.final")
        said = " ".join(f["text"] for f in finals)
        assert wer([LIBRI.with_suffix(".txt").read_text()], [said]) <= 0.15, said
        begin = of_type(result, "session.begin")[0]
        with gateway.client() as client:
            # The record is closed just after the client's socket: wait for it.
            deadline = time.monotonic() + 15
            while True:
                record = client.get(f"/v1/realtime/sessions/{begin['session_id']}")
                if record.json()["status"] != "active":
                    break
                assert time.monotonic() < deadline, record.json()
                time.sleep(0.1)
            assert record.json()["status"] == "completed"
