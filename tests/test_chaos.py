"""Chaos: distributed mode (gateway, orchestrator, workers as processes on
PostgreSQL, Redis Streams and S3) keeps every job through faults, with counts.

During one batch of jobs: a transcribe worker is killed (-9), every Redis
connection of the cluster is killed (CLIENT KILL), every PostgreSQL backend of
its database is terminated, S3 goes away for a few seconds (a proxy in front of
it cuts and refuses connections), the orchestrator is killed and started again,
and the gateway is killed and started again (the client retries its submits
with the same Idempotency-Key). Every job completes, no job is duplicated,
every stage succeeded once, and the processes that were not killed are still
the ones serving (none needed a restart).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import redis

from tests.audio_fixtures import DATA
from tests.conftest import fresh_database
from tests.faults import TcpProxy
from tests.server import wait_for_job
from tests.test_distributed import Cluster, _engines

pytestmark = [pytest.mark.model, pytest.mark.chaos]

CLIP = DATA / "whisper_jfk.flac"
JOBS = 8


def _submit(client: httpx.Client, key: str) -> str:
    """A submit retried (same key) through gateway restarts until it answers."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with CLIP.open("rb") as audio:
                response = client.post(
                    "/v1/audio/transcriptions/jobs",
                    headers={"Idempotency-Key": key},
                    files={"file": ("jfk.flac", audio)},
                    data={"language": "en"},
                )
            if response.status_code == 201:
                return str(response.json()["id"])
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the gateway never took the submit"
        time.sleep(0.3)


def _terminate_backends(database_url: str) -> int:
    name = urlsplit(database_url).path.lstrip("/")

    async def run() -> int:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await conn.close()
        return len(rows)

    return asyncio.run(run())


def _kill_redis_clients(prefix_owner_pids: set[int]) -> int:
    """CLIENT KILL every Redis connection of the cluster's processes."""
    admin = redis.Redis()
    killed = 0
    for client in admin.client_list():
        # Connections are matched by the process that holds their local port.
        addr = client["addr"]
        if _owner(addr) in prefix_owner_pids:
            killed += int(admin.execute_command("CLIENT", "KILL", "ADDR", addr))
    admin.close()
    return killed


def _owner(addr: str) -> int | None:
    """The pid holding loopback port ``addr`` (host:port) as a client socket."""
    port = int(addr.rsplit(":", 1)[1])
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if fd.readlink().as_posix() == target:
                    return int(proc.name)
        except OSError:
            continue
    return None


def test_jobs_survive_every_kind_of_fault(
    tmp_path: Path, distributed_env: dict[str, str]
) -> None:
    s3 = urlsplit(distributed_env["S3_ENDPOINT_URL"])
    proxy = TcpProxy(int(s3.port or 80))
    with fresh_database() as database_url:
        env = {
            **distributed_env,
            "DATABASE_URL": database_url,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}",
            "DALSTON_QUEUE_VISIBILITY_S": "10",
        }
        cluster = Cluster(tmp_path, env)
        try:
            cluster.gateway.start()
            cluster.orchestrator.start()
            prepare = cluster.add_worker("audio-prepare")
            doomed = cluster.add_worker("faster-whisper")
            survivor = cluster.add_worker("faster-whisper")
            with httpx.Client(
                base_url=cluster.gateway.url,
                headers={"Authorization": f"Bearer {cluster.gateway.admin_key}"},
                timeout=30,
            ) as client:
                _engines(client, {"audio-prepare": 1, "faster-whisper": 2})
                keys = [str(uuid.uuid4()) for _ in range(JOBS)]
                ids = [_submit(client, key) for key in keys[: JOBS // 2]]

                doomed.stop(signal.SIGKILL)
                pids = {
                    p.proc.pid
                    for p in (cluster.gateway, cluster.orchestrator, prepare, survivor)
                    if p.proc is not None
                }
                assert _kill_redis_clients(pids) > 0
                assert _terminate_backends(database_url) > 0
                proxy.down()
                time.sleep(3)
                proxy.up()
                cluster.orchestrator.stop(signal.SIGKILL)
                cluster.orchestrator.start()
                cluster.gateway.stop(signal.SIGKILL)
                restarted = cluster.gateway
                restarted.start()
                # Retries of submits already answered: the same jobs, no new ones.
                assert [_submit(client, key) for key in keys[: JOBS // 2]] == ids
                ids += [_submit(client, key) for key in keys[JOBS // 2 :]]
                jobs = [wait_for_job(client, job_id, timeout=300) for job_id in ids]
                listed = client.get(
                    "/v1/audio/transcriptions", params={"limit": 100}
                ).json()["jobs"]
            assert [j["status"] for j in jobs] == ["completed"] * JOBS, [
                (j["status"], j.get("error")) for j in jobs
            ]
            assert len(listed) == JOBS  # none duplicated
            for job in jobs:
                assert [s["status"] for s in job["stages"]] == ["succeeded"] * 2
                assert "country" in job["text"].lower(), job["text"]
            # The processes that were not killed kept serving: no restart needed.
            assert prepare.proc is not None and prepare.proc.poll() is None
            assert survivor.proc is not None and survivor.proc.poll() is None
        finally:
            cluster.stop()
            proxy.close()
