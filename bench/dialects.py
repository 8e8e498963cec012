"""WER of one set of English clips through each door of one server.

Prints JSON: per path (raw faster-whisper, openai SDK, elevenlabs SDK) the WER
over the clips, the model reported, wall time, and the machine load
(``os.getloadavg``) at start and end. Clips: the arguments (audio files with a
``.txt`` reference beside them), else the corpus' English asr clips when
``../shared/corpus`` exists. Written to find why the ElevenLabs batch path
scored worse than the OpenAI one (issue 11).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.server import ServerProcess  # noqa: E402

# ../shared from the main checkout, ../../shared from a worktree under /work/wt.
CORPUS = next(
    (p / "shared" / "corpus" for p in REPO.parents if (p / "shared").is_dir()),
    REPO.parent / "shared" / "corpus",
)


def corpus_clips() -> list[Path]:
    with (CORPUS / "MANIFEST.tsv").open() as f:
        rows = csv.DictReader(f, delimiter="\t")
        return [
            CORPUS / r["file"]
            for r in rows
            if r["kind"] == "asr" and r["language"] == "en"
        ]


def measure(clips: list[Path], run: Callable[[Path], tuple[str, str]]) -> dict:
    norm = EnglishTextNormalizer()
    load_start = os.getloadavg()
    started = time.monotonic()
    refs, hyps, models = [], [], set()
    for clip in clips:
        text, model = run(clip)
        refs.append(norm(clip.with_suffix(".txt").read_text()))
        hyps.append(norm(text))
        models.add(model)
    return {
        "wer": round(jiwer.wer(refs, hyps), 4),
        "models": sorted(models),
        "wall_s": round(time.monotonic() - started, 1),
        "load_start": load_start,
        "load_end": os.getloadavg(),
        "texts": hyps,
    }


def main() -> None:
    clips = [Path(a) for a in sys.argv[1:]] or corpus_clips()
    from elevenlabs import ElevenLabs
    from faster_whisper import WhisperModel
    from openai import OpenAI

    from dalston.catalog.packaged import tiny_en_path

    out: dict[str, dict] = {}
    raw = WhisperModel(str(tiny_en_path()), device="cpu", compute_type="int8")

    def run_raw(clip: Path) -> tuple[str, str]:
        segments, _ = raw.transcribe(str(clip), beam_size=5, vad_filter=True)
        return " ".join(s.text.strip() for s in segments), "whisper-tiny.en"

    out["raw"] = measure(clips, run_raw)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        server.start()
        try:
            key = server.admin_key
            oai = OpenAI(base_url=server.url + "/v1", api_key=key, timeout=300)
            el = ElevenLabs(base_url=server.url, api_key=key, timeout=300)

            def run_openai(clip: Path) -> tuple[str, str]:
                with clip.open("rb") as f:
                    r = oai.audio.transcriptions.create(
                        model="whisper-1", file=f, response_format="verbose_json"
                    )
                return r.text, str(getattr(r, "model", "?"))

            def run_elevenlabs(clip: Path) -> tuple[str, str]:
                with clip.open("rb") as f:
                    r = el.speech_to_text.convert(file=f, model_id="scribe_v1")
                return r.text, str(r.language_code)

            out["openai"] = measure(clips, run_openai)
            out["elevenlabs"] = measure(clips, run_elevenlabs)
        finally:
            server.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
