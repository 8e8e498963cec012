"""The same English clips through every door: native, OpenAI and ElevenLabs.

Run from the repository root::

    .venv/bin/python bench/dialects.py [--corpus ../shared/corpus] [--language en]

Starts one embedded ``dalston serve`` and sends each English ASR clip of the
corpus (``MANIFEST.tsv``; ``tests/data`` when the corpus is absent) through the
native API (``POST /v1/audio/transcriptions/jobs``), the official ``openai`` SDK
(``audio.transcriptions.create``, whisper-1) and the official ``elevenlabs`` SDK
(``speech_to_text.convert``, scribe_v1), with no language unless ``--language``
is given. Prints one JSON object: per door the pooled WER (Whisper's English
normalizer + jiwer), the models the server chose, wall time, and the load
average at start and end (a busy machine slows every door alike: compare WER,
not seconds, across runs).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dalston.eval.scoring import wer  # noqa: E402
from tests.server import ServerProcess, wait_for_job  # noqa: E402

SKIP_CASES = {"sphinx4_digits_10001_90210_01803"}  # a digit string: WER is moot


def cases(corpus: Path) -> list[tuple[str, Path, str]]:
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.exists():
        data = REPO / "tests" / "data"
        return [
            (p.stem, p, p.with_suffix(".txt").read_text())
            for p in sorted(data.glob("*.*"))
            if (
                p.suffix in (".wav", ".flac")
                and p.with_suffix(".txt").exists()
                and not p.stem.startswith("pv_")
            )
            or p.stem == "pv_ls_1272_128104_0000"
        ]
    found = []
    with manifest.open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["kind"] != "asr" or row["language"] != "en":
                continue
            if row["case_id"] in SKIP_CASES:
                continue
            audio = corpus / row["file"]
            ref = audio.with_suffix(".txt")
            if ref.exists():
                found.append((row["case_id"], audio, ref.read_text()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "corpus"
    )
    parser.add_argument("--language", default=None)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    import openai
    from elevenlabs.client import ElevenLabs

    todo = cases(args.corpus)
    if args.limit:
        todo = todo[: args.limit]
    load_start = os.getloadavg()
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="dalston-bench-")))
    server.start()
    try:
        key = server.admin_key
        oai = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
        eleven = ElevenLabs(base_url=server.url, api_key=key)
        texts: dict[str, list[str]] = {"native": [], "openai": [], "elevenlabs": []}
        models: dict[str, set[str]] = {door: set() for door in texts}
        seconds = dict.fromkeys(texts, 0.0)
        with server.client() as http:
            for _, audio, _ in todo:
                lang = {"language": args.language} if args.language else {}
                started = time.monotonic()
                with audio.open("rb") as fh:
                    created = http.post(
                        "/v1/audio/transcriptions/jobs",
                        files={"file": (audio.name, fh)},
                        data=lang,
                    )
                job = wait_for_job(http, created.json()["id"])
                seconds["native"] += time.monotonic() - started
                texts["native"].append(job.get("text") or "")
                models["native"].add(job["model"])

                started = time.monotonic()
                with audio.open("rb") as fh:
                    raw = oai.audio.transcriptions.with_raw_response.create(
                        model="whisper-1", file=fh, **lang
                    )
                seconds["openai"] += time.monotonic() - started
                texts["openai"].append(raw.parse().text)
                job_id = raw.headers.get("x-dalston-job-id")
                models["openai"].add(
                    http.get(f"/v1/audio/transcriptions/{job_id}").json()["model"]
                )

                started = time.monotonic()
                with audio.open("rb") as fh:
                    el_lang = {"language_code": args.language} if args.language else {}
                    result: Any = eleven.speech_to_text.convert(
                        file=fh, model_id="scribe_v1", **el_lang
                    )
                seconds["elevenlabs"] += time.monotonic() - started
                texts["elevenlabs"].append(result.text)
                listed = http.get("/v1/audio/transcriptions", params={"limit": 1})
                models["elevenlabs"].add(listed.json()["jobs"][0]["model"])
        refs = [ref for _, _, ref in todo]
        report = {
            "clips": len(todo),
            "language": args.language or "detect",
            "doors": {
                door: {
                    "wer": round(wer(refs, texts[door]), 4),
                    "models": sorted(models[door]),
                    "seconds": round(seconds[door], 1),
                }
                for door in texts
            },
            "identical_text": sum(
                a == b == c
                for a, b, c in zip(
                    texts["native"], texts["openai"], texts["elevenlabs"], strict=True
                )
            ),
            "differing": [
                {"case": case, **{door: texts[door][i] for door in texts}}
                for i, (case, _, _) in enumerate(todo)
                if len({texts[door][i] for door in texts}) > 1
            ],
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(report, indent=2))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
