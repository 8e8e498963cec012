"""Load benchmark: N concurrent clients submit a short clip and poll it to the end.

Run from the repository root::

    .venv/bin/python bench/load.py [--clients 10,100] [--clip tests/data/x.flac]

Starts one embedded ``dalston serve`` (tiny.en, int8) and, for each N, opens N
clients at once; each submits the clip to ``POST /v1/audio/transcriptions/jobs``
and polls its job until it is finished. Prints one JSON object: per N the submit
latency (p50/p95/p99, ms), completion time (first submit -> last job finished),
errors, and the server's peak RSS; plus the machine's load average, so a busy
machine is visible in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.server import ServerProcess  # noqa: E402

DEFAULT_CLIP = REPO / "tests" / "data" / "whisper_jfk.flac"
_TERMINAL = {"completed", "failed", "cancelled"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _one_client(
    client: httpx.AsyncClient, clip: bytes, name: str, start: asyncio.Event
) -> dict[str, Any]:
    await start.wait()
    began = time.perf_counter()
    response = await client.post(
        "/v1/audio/transcriptions/jobs",
        files={"file": (name, clip)},
        data={"language": "en"},
    )
    submit_ms = (time.perf_counter() - began) * 1000
    if response.status_code != 201:
        return {"submit_ms": submit_ms, "error": f"HTTP {response.status_code}"}
    job_id = response.json()["id"]
    while True:
        job = (await client.get(f"/v1/audio/transcriptions/{job_id}")).json()
        if job["status"] in _TERMINAL:
            break
        await asyncio.sleep(0.25)
    return {
        "submit_ms": submit_ms,
        "done_s": time.perf_counter() - began,
        "error": None if job["status"] == "completed" else job.get("error"),
    }


async def run_round(
    server: ServerProcess, clients: int, data: bytes, name: str
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 8)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, timeout=600, limits=limits
    ) as client:
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(_one_client(client, data, name, start))
            for _ in range(clients)
        ]
        await asyncio.sleep(0.2)
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        start.set()
        results = await asyncio.gather(*tasks)
        wall = time.perf_counter() - began
    submits = [r["submit_ms"] for r in results]
    errors = [r["error"] for r in results if r["error"]]
    return {
        "clients": clients,
        "submit_ms": {
            "p50": round(statistics.median(submits), 1),
            "p95": round(_percentile(submits, 0.95), 1),
            "p99": round(_percentile(submits, 0.99), 1),
            "max": round(max(submits), 1),
        },
        "completion_s": round(wall, 2),
        "jobs_per_min": round(clients / wall * 60, 1),
        "errors": len(errors),
        "error_samples": errors[:3],
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="10,100")
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--model", default="whisper-tiny.en")
    args = parser.parse_args()
    rounds = [int(n) for n in args.clients.split(",")]
    clip = args.clip.read_bytes()
    with tempfile.TemporaryDirectory(prefix="dalston-load-") as tmp:
        server = ServerProcess(
            Path(tmp),
            env={"DALSTON_DEFAULT_MODEL": args.model, "DALSTON_COMPUTE_TYPE": "int8"},
        )
        server.start()
        try:
            out = {
                "clip": str(args.clip.relative_to(REPO))
                if args.clip.is_relative_to(REPO)
                else str(args.clip),
                "cpus": os.cpu_count(),
                "rounds": [
                    asyncio.run(run_round(server, n, clip, args.clip.name))
                    for n in rounds
                ],
            }
            assert server.proc is not None
            out["server_peak_rss_mb"] = _peak_rss_mb(server.proc.pid)
        finally:
            server.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
