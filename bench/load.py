"""Load benchmark: many clients submitting short clips at once, then listing.

Run from the repository root::

    .venv/bin/python bench/load.py [--clients 10 100] [--lists 200] \\
        [--clip tests/data/x.flac] [--baseline-repo DIR] [--output out.json]

Starts an embedded ``dalston serve`` (``tests.server.ServerProcess``, temporary
data dir, ``whisper-tiny.en``, int8). For each N in ``--clients``: N clients submit
one clip each at the same moment (native ``POST /v1/audio/transcriptions``; the
short clips of ``tests/data`` taken in turn, or ``--clip``), then each polls its
job every ``--poll-s`` until it is finished. Then ``--lists`` concurrent
``GET /v1/audio/transcriptions`` (``limit=20``). Prints one JSON object: submit
and list latency percentiles (ms), completion times, errors, jobs per minute, the
server's peak RSS (``VmHWM``) and the load average, so a busy machine shows in the
figures (see bench/README.md).

With ``--baseline-repo`` (a worktree of another commit) the same rounds run
against a server started from that checkout too, the two servers one after the
other in each round (the order alternating), so a before/after ratio shares the
machine's load of the moment.
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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/load.py` puts bench/ first
    sys.path.insert(0, str(REPO))

from bench.batch import peak_rss_mb  # noqa: E402
from tests.server import ServerProcess  # noqa: E402

DATA = REPO / "tests" / "data"
# Short English clips (5-11 s), as a client would send them.
CLIPS = (
    "whisper_jfk.flac",
    "pv_ls_1272_128104_0000.wav",
    "lhotse_ls_2412_153948_0000.flac",
    "mfa_ls_61_70968_0000.flac",
)
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class Outcome:
    submit_s: float
    status: int
    finished_s: float | None = None
    job_status: str | None = None
    error: str | None = None


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1] * 1000, 1),
    }


async def _client(
    http: httpx.AsyncClient,
    clip: tuple[str, bytes],
    start: asyncio.Event,
    poll_s: float,
    timeout_s: float,
) -> Outcome:
    await start.wait()
    began = time.perf_counter()
    try:
        response = await http.post(
            "/v1/audio/transcriptions",
            files={"file": clip},
            data={"language": "en", "model": "whisper-tiny.en"},
        )
    except httpx.HTTPError as exc:
        return Outcome(time.perf_counter() - began, 0, error=repr(exc))
    outcome = Outcome(time.perf_counter() - began, response.status_code)
    if response.status_code != 201:
        outcome.error = response.text[:300]
        return outcome
    job_id = response.json()["id"]
    deadline = began + timeout_s
    while time.perf_counter() < deadline:
        await asyncio.sleep(poll_s)
        try:
            polled = await http.get(f"/v1/audio/transcriptions/{job_id}")
        except httpx.HTTPError as exc:
            outcome.error = repr(exc)
            continue
        status = polled.json().get("status") if polled.status_code == 200 else None
        if status in TERMINAL:
            outcome.finished_s = time.perf_counter() - began
            outcome.job_status = status
            if status != "completed":
                outcome.error = polled.json().get("error")
            return outcome
    outcome.error = f"not finished within {timeout_s:g} s"
    return outcome


async def submit_round(
    server: ServerProcess,
    clients: int,
    clips: list[Path],
    poll_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, limits=limits, timeout=timeout_s
    ) as http:
        start = asyncio.Event()
        bodies = [(path.name, path.read_bytes()) for path in clips]
        tasks = [
            asyncio.create_task(
                _client(http, bodies[i % len(bodies)], start, poll_s, timeout_s)
            )
            for i in range(clients)
        ]
        await asyncio.sleep(0.2)  # every client is waiting at the line
        began = time.perf_counter()
        start.set()
        outcomes = await asyncio.gather(*tasks)
        wall = time.perf_counter() - began
    finished = [o.finished_s for o in outcomes if o.finished_s is not None]
    errors = [o.error for o in outcomes if o.error]
    return {
        "clients": clients,
        "submit_ms": _percentiles([o.submit_s for o in outcomes]),
        "submit_status": dict(Counter(str(o.status) for o in outcomes)),
        "completion_ms": _percentiles(finished),
        "completed": sum(o.job_status == "completed" for o in outcomes),
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": round(wall, 2),
        "jobs_per_min": round(clients / wall * 60, 1),
        "loadavg_after": _loadavg(),
    }


async def list_round(server: ServerProcess, calls: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=calls + 10, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, limits=limits, timeout=120
    ) as http:
        start = asyncio.Event()

        async def one() -> tuple[float, int]:
            await start.wait()
            began = time.perf_counter()
            try:
                response = await http.get(
                    "/v1/audio/transcriptions", params={"limit": 20}
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            return time.perf_counter() - began, status

        tasks = [asyncio.create_task(one()) for _ in range(calls)]
        await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.gather(*tasks)
    return {
        "calls": calls,
        "latency_ms": _percentiles([t for t, _ in results]),
        "status": dict(Counter(str(s) for _, s in results)),
    }


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(args: argparse.Namespace) -> dict[str, Any]:
    clips = [args.clip] if args.clip else [DATA / name for name in CLIPS]
    servers = {"current": REPO}
    if args.baseline_repo:
        servers["baseline"] = Path(args.baseline_repo).resolve()
    results: dict[str, dict[str, Any]] = {name: {"rounds": []} for name in servers}
    with tempfile.TemporaryDirectory(prefix="dalston-load-") as tmp:
        procs = {
            name: ServerProcess(
                Path(tmp) / name,
                env={
                    "DALSTON_DEFAULT_MODEL": args.model,
                    "DALSTON_COMPUTE_TYPE": "int8",
                },
                repo=repo,
            )
            for name, repo in servers.items()
        }
        try:
            for proc in procs.values():
                proc.start()
            order = list(procs)
            for index, clients in enumerate(args.clients):
                # Alternate who goes first so that the load of the moment is shared.
                for name in order if index % 2 == 0 else order[::-1]:
                    proc = procs[name]
                    load = _loadavg()
                    outcome = asyncio.run(
                        submit_round(proc, clients, clips, args.poll_s, args.timeout_s)
                    )
                    outcome["loadavg_before"] = load
                    results[name]["rounds"].append(outcome)
            for name in order if len(args.clients) % 2 == 0 else order[::-1]:
                load = _loadavg()
                listed = asyncio.run(list_round(procs[name], args.lists))
                listed["loadavg_before"] = load
                results[name]["list"] = listed
            for name, proc in procs.items():
                assert proc.proc is not None
                results[name]["server_peak_rss_mb"] = peak_rss_mb(proc.proc.pid)
        finally:
            for proc in procs.values():
                proc.stop()
    out: dict[str, Any] = {
        "options": {
            "clients": args.clients,
            "lists": args.lists,
            "model": args.model,
            "clips": [_shown(path) for path in clips],
            "poll_s": args.poll_s,
        },
        "machine": {"cpu_count": os.cpu_count(), "loadavg_end": _loadavg()},
        **results,
    }
    if "baseline" in results:
        out["ratios_baseline_over_current"] = _ratios(
            results["baseline"], results["current"]
        )
    return out


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _ratios(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 1) if a and b else None

    out: dict[str, Any] = {}
    for old, new in zip(before["rounds"], after["rounds"], strict=True):
        out[f"submit_p99_{new['clients']}"] = ratio(
            old["submit_ms"]["p99"], new["submit_ms"]["p99"]
        )
        out[f"submit_p50_{new['clients']}"] = ratio(
            old["submit_ms"]["p50"], new["submit_ms"]["p50"]
        )
    out["list_p99"] = ratio(
        before["list"]["latency_ms"]["p99"], after["list"]["latency_ms"]["p99"]
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--lists", type=int, default=200)
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--clip", type=Path, help="one clip for every client")
    parser.add_argument("--poll-s", type=float, default=0.5)
    parser.add_argument("--timeout-s", type=float, default=900)
    parser.add_argument("--baseline-repo", help="a checkout to compare against")
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
