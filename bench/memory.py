"""Peak memory of the embedded server against the audio's length.

For each length (default 10, 30 and 60 minutes) and each set of job parameters
(default: transcription with the default alignment; and with diarization), a fresh
`dalston serve` (every stage in one process) takes one job on a file built from the
English clips in tests/data (each clip followed by a pause five times its length:
speech is a sixth of the audio). Prints JSON: the server's RSS when ready, the
peak of the server's process tree (the aligner's processes too, all at once:
``tests.server.TreePeak``), the highest RSS sampled while each stage ran, wall
time and WER.

    python bench/memory.py [--minutes 10 30 60] [--no-diarize] [--output F]

Memory that is flat in the audio's length shows as the same peak at every length.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dalston.eval.scoring import wer  # noqa: E402
from tests.audio_fixtures import sparse_meeting_wav  # noqa: E402
from tests.server import ServerProcess, TreePeak, status_mb, submit  # noqa: E402
from tests.test_long_audio import CLIPS  # noqa: E402


def one_job(minutes: float, params: dict[str, str], work: Path) -> dict[str, Any]:
    wav = work / f"{minutes:g}min.wav"
    reference, _ = sparse_meeting_wav(wav, minutes * 60, CLIPS)
    server = ServerProcess(work / f"data-{minutes:g}-{len(params)}")
    server.start(timeout=300)
    assert server.proc is not None
    pid = server.proc.pid
    ready = status_mb(pid, "VmRSS")
    by_stage: dict[str, float] = {}
    state = {"stage": "upload", "done": False}

    def sample() -> None:
        while not state["done"]:
            stage = str(state["stage"])
            by_stage[stage] = max(by_stage.get(stage, 0.0), status_mb(pid, "VmRSS"))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    memory = TreePeak(pid)
    try:
        with memory, server.client() as client:
            job_id = submit(client, wav, model="whisper-tiny.en", **params)
            while True:
                job = client.get(f"/v1/audio/transcriptions/{job_id}").json()
                stages = job["stages"]
                running = [s["stage"] for s in stages if s["status"] == "running"]
                state["stage"] = "+".join(running) or "between stages"
                if job["status"] in ("completed", "failed"):
                    break
                time.sleep(0.3)
        wall = time.perf_counter() - started
    finally:
        state["done"] = True
        server.stop()
    return {
        "minutes": minutes,
        "params": params,
        "status": job["status"],
        "ready_rss_mb": ready,
        "peak_rss_mb": memory.peak_mb,
        "peak_exact": memory.exact,
        "rss_by_running_stage_mb": by_stage,
        "wall_s": round(wall, 1),
        "stage_ms": {s["stage"]: s["duration_ms"] for s in job["stages"]},
        "wer": round(wer([reference], [job.get("text") or ""]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 60])
    parser.add_argument("--no-diarize", action="store_true")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    variants: list[dict[str, str]] = [{}]
    if not args.no_diarize:
        variants.append({"speaker_detection": "diarize"})
    load = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="dalston-bench-memory-") as tmp:
        for params in variants:
            for minutes in args.minutes:
                runs.append(one_job(minutes, params, Path(tmp)))
    result = {
        "bench": "memory",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "load_before": load},
        "runs": runs,
        "note": "peak_rss_mb: the peak of the dalston serve process (gateway, "
        "orchestrator and every engine in one process) and its children (the "
        "aligner's processes) all at once, to 0.25 s (TreePeak; peak_exact false: "
        "the sum of their whole-run peaks); rss_by_running_stage_mb: "
        "the highest VmRSS sampled every 0.1 s while those stages ran",
    }
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
