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
import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import redis

from dalston.queue.redis_streams import TASK_GROUP, TASKS_KEY
from tests import compose_stack
from tests.audio_fixtures import DATA, long_speech_wav
from tests.conftest import fresh_database
from tests.faults import TcpProxy
from tests.server import ServerProcess, submit, wait_for_job
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


class _Host:
    """A network namespace joined to this machine by a veth pair: another host.
    It reaches PostgreSQL, Redis and S3 (which listen on loopback here) through
    proxies on this side's veth address (``rates``: bytes per second a proxy
    passes back to the host, for a slow link); ``cut`` downs the link, so its
    packets are dropped (no reset: its connections just hang, as with a pulled
    cable)."""

    def __init__(
        self, ports: dict[str, int], rates: dict[str, int] | None = None
    ) -> None:
        tag = uuid.uuid4().hex[:6]
        self.name = f"dalston-{tag}"
        self.outer, inner = f"dvo{tag}", f"dvi{tag}"
        net = int(tag[:2], 16) % 200 + 20
        self.address = f"10.231.{net}.1"
        peer = f"10.231.{net}.2"
        self._sh(f"ip netns add {self.name}")
        self._sh(f"ip link add {self.outer} type veth peer name {inner}")
        self._sh(f"ip link set {inner} netns {self.name}")
        self._sh(f"ip addr add {self.address}/30 dev {self.outer}")
        self._sh(f"ip link set {self.outer} up")
        inside = f"ip netns exec {self.name}"
        self._sh(f"{inside} ip addr add {peer}/30 dev {inner}")
        self._sh(f"{inside} ip link set {inner} up")
        self._sh(f"{inside} ip link set lo up")
        self.proxies = {
            name: TcpProxy(port, host=self.address, rate=(rates or {}).get(name))
            for name, port in ports.items()
        }

    @staticmethod
    def _sh(command: str) -> None:
        subprocess.run(command.split(), check=True, capture_output=True)

    def port(self, name: str) -> int:
        return self.proxies[name].port

    def cut(self) -> None:
        self._sh(f"ip link set {self.outer} down")

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)
        subprocess.run(["ip", "link", "delete", self.outer], capture_output=True)


def _wait_held(env: dict[str, str], engine_id: str) -> None:
    """Until a worker holds (has taken, not yet acked) a task of ``engine_id``."""
    stream = TASKS_KEY.format(prefix=env["DALSTON_REDIS_PREFIX"], engine_id=engine_id)
    deadline = time.monotonic() + 120
    with redis.Redis.from_url(env["REDIS_URL"]) as admin:
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ResponseError):  # no group made yet
                if admin.xpending(stream, TASK_GROUP)["pending"]:
                    return
            time.sleep(0.05)
    raise AssertionError(f"no worker took a {engine_id} task")


def _netns_usable() -> str | None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "network namespaces need root and iproute2"
    probe = f"dalston-probe-{uuid.uuid4().hex[:4]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return f"ip netns does not work here: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def test_a_host_cut_off_mid_task_loses_it_to_another(
    tmp_path: Path, distributed_env: dict[str, str]
) -> None:
    """A transcribe worker on another host (its own network namespace) is cut off
    while it holds a task: its liveness lapses and the task runs on a worker here,
    counted as a rerun; the job completes. The host's link to S3 is slow (its
    audio takes seconds to arrive), so the cut lands before it could finish
    however fast this machine transcribes."""
    reason = _netns_usable()
    if reason:
        pytest.skip(reason)
    s3 = urlsplit(distributed_env["S3_ENDPOINT_URL"])
    host = _Host(
        {"pg": 5432, "redis": 6379, "s3": int(s3.port or 80)}, rates={"s3": 32_000}
    )
    with fresh_database() as database_url:
        env = {
            **distributed_env,
            "DATABASE_URL": database_url,
            "DALSTON_QUEUE_CONSUMER_TTL_S": "2",
        }
        cluster = Cluster(tmp_path, env)
        remote_env = {
            **cluster.env,
            "DATABASE_URL": database_url.replace(
                "127.0.0.1:5432", f"{host.address}:{host.port('pg')}"
            ),
            "REDIS_URL": f"redis://{host.address}:{host.port('redis')}/0",
            "S3_ENDPOINT_URL": f"http://{host.address}:{host.port('s3')}",
        }
        whisper = compose_stack.role(compose_stack.worker_service("faster-whisper"))
        remote = ServerProcess(
            tmp_path / "remote-worker",
            {**whisper.env, **remote_env},
            whisper.args,
            prefix=("ip", "netns", "exec", host.name),
        )
        try:
            cluster.gateway.start()
            cluster.orchestrator.start()
            cluster.add_worker("audio-prepare")
            remote.start()
            with cluster.gateway.client() as client:
                _engines(client, {"audio-prepare": 1, "faster-whisper": 1})
                audio = long_speech_wav(tmp_path / "long.wav", 40)
                job_id = submit(client, audio)
                _wait_held(cluster.env, "faster-whisper")
                host.cut()
                cluster.add_worker("faster-whisper")
                job = wait_for_job(client, job_id, timeout=240)
            assert job["status"] == "completed", job
            assert "country" in job["text"]
            transcribe = job["stages"][1]
            assert transcribe["status"] == "succeeded"
            assert transcribe["retries"] >= 1  # the rerun is counted
        finally:
            remote.stop(signal.SIGKILL)
            cluster.stop()
            host.close()
