"""Distributed-mode benchmark: throughput with 1 and 2 transcription worker processes,
and the latency the distributed path adds to a short job over embedded mode.

Run from the repository root with PostgreSQL and Redis on 127.0.0.1::

    .venv/bin/python bench/scale.py [--jobs 12] [--output out.json]

Prints one JSON object. Every process runs on this machine: on 2 cores, two worker
processes compete for the same cores, so the 2-worker figure shows the overhead of
the split more than a gain; on several machines each worker brings its own cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dalston.audio import probe  # noqa: E402
from tests.conftest import fresh_database  # noqa: E402
from tests.server import ServerProcess, submit, wait_for_job  # noqa: E402

CLIP = REPO / "tests" / "data" / "mfa_ls_61_70968_0000.flac"


def _submit(client: httpx.Client) -> str:
    # Embedded mode aligns words by default, worker sets without an aligner do
    # not: leave the stage out so both modes run the same pipeline.
    return submit(client, CLIP, word_alignment="false")


def _job_seconds(job: dict[str, Any]) -> float:
    created = datetime.fromisoformat(job["created_at"])
    done = datetime.fromisoformat(job["completed_at"])
    return (done - created).total_seconds()


def latency(server: ServerProcess, repeats: int) -> dict[str, float]:
    """Server-side seconds from job creation to completion, one job at a time."""
    times = []
    with server.client() as client:
        wait_for_job(client, _submit(client))  # warm-up
        for _ in range(repeats):
            job = wait_for_job(client, _submit(client))
            assert job["status"] == "completed", job
            times.append(_job_seconds(job))
    times.sort()
    return {"median_s": round(times[len(times) // 2], 3), "min_s": round(times[0], 3)}


def throughput(gateway: ServerProcess, jobs: int, audio_s: float) -> dict[str, float]:
    with gateway.client() as client:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: _submit(client), range(jobs)))
        results = [wait_for_job(client, job_id, timeout=900) for job_id in ids]
        wall = time.monotonic() - started
    assert all(r["status"] == "completed" for r in results), results
    return {
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "jobs_per_minute": round(jobs / wall * 60, 1),
        "rtfx": round(jobs * audio_s / wall, 2),
    }


def wait_workers(gateway: ServerProcess, engine: str, count: int) -> None:
    with gateway.client() as client:
        for _ in range(300):
            engines = client.get("/v1/engines").json()["engines"]
            ready = [
                e
                for e in engines
                if e["engine_id"] == engine and e["status"] == "ready"
            ]
            if len(ready) >= count:
                return
            time.sleep(0.3)
    raise RuntimeError(f"{count} {engine} worker(s) never became ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    audio_s = probe(CLIP).duration_s
    result: dict[str, Any] = {
        "bench": "scale",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "loadavg": os.getloadavg()},
        "clip": {"file": CLIP.name, "audio_s": round(audio_s, 3)},
    }
    with (
        tempfile.TemporaryDirectory(prefix="dalston-scale-") as tmp,
        ExitStack() as stack,
    ):
        root = Path(tmp)
        embedded = ServerProcess(root / "embedded")
        embedded.start()
        stack.callback(embedded.stop)
        result["embedded_latency"] = latency(embedded, args.repeats)
        result["embedded_throughput"] = throughput(embedded, args.jobs, audio_s)
        embedded.stop()

        database = stack.enter_context(fresh_database())
        shared = root / "distributed"  # one artifact folder for every process
        env = {
            "DATABASE_URL": database,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DALSTON_REDIS_PREFIX": f"dalston-bench-{uuid.uuid4().hex[:8]}",
        }
        gateway = ServerProcess(shared, env, ("gateway",))
        procs = [
            gateway,
            ServerProcess(shared, env, ("orchestrator",)),
            ServerProcess(shared, env, ("worker", "--engine", "audio-prepare")),
            ServerProcess(shared, env, ("worker", "--engine", "faster-whisper")),
        ]
        for proc in procs:
            proc.start()
            stack.callback(proc.stop)
        wait_workers(gateway, "faster-whisper", 1)
        result["distributed_latency"] = latency(gateway, args.repeats)
        result["added_latency_s"] = round(
            result["distributed_latency"]["median_s"]
            - result["embedded_latency"]["median_s"],
            3,
        )
        result["distributed_1_worker"] = throughput(gateway, args.jobs, audio_s)
        second = ServerProcess(shared, env, ("worker", "--engine", "faster-whisper"))
        second.start()
        stack.callback(second.stop)
        wait_workers(gateway, "faster-whisper", 2)
        result["distributed_2_workers"] = throughput(gateway, args.jobs, audio_s)
    result["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
