"""The same English audio, with no language, gets the same answer through the
ElevenLabs and OpenAI doors (official SDKs): the same model, the same words.

Before one policy chose the model, "auto" meant the English-only default for
ElevenLabs and the multilingual model for OpenAI, so the two doors decoded the
same clip with different models (bench/dialects.py measures every door).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
from elevenlabs.client import ElevenLabs

from dalston.eval.scoring import wer
from tests.server import ServerProcess

DATA = Path(__file__).resolve().parent / "data"
CLIPS = [
    DATA / "whisper_jfk.flac",
    DATA / "mfa_cold_corpus.wav",
    DATA / "sb_lj050_0131.wav",
    DATA / "wenet_ls_1995_1837_0001.wav",
]


def test_elevenlabs_and_openai_doors_answer_alike(server: ServerProcess) -> None:
    """Each clip through both doors at once (the server transcribes two side by
    side)."""
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    oai = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=server.admin_key, max_retries=0
    )

    def through_eleven(clip: Path) -> tuple[str, str]:
        with clip.open("rb") as fh:
            result = eleven.speech_to_text.convert(file=fh, model_id="scribe_v1")
        assert result.language_code == "eng"
        return result.text, str(result.transcription_id)

    def through_openai(clip: Path) -> tuple[str, str]:
        with clip.open("rb") as fh:
            raw = oai.audio.transcriptions.with_raw_response.create(
                model="whisper-1", file=fh
            )
        return raw.parse().text, raw.headers["x-dalston-job-id"]

    refs: list[str] = []
    from_eleven: list[str] = []
    from_openai: list[str] = []
    models: set[str] = set()
    with (
        httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.admin_key}"},
            timeout=60,
        ) as http,
        ThreadPoolExecutor(2) as pool,
    ):
        for clip in CLIPS:
            refs.append(clip.with_suffix(".txt").read_text())
            by_eleven = pool.submit(through_eleven, clip)
            by_openai = pool.submit(through_openai, clip)
            for texts, door in ((from_eleven, by_eleven), (from_openai, by_openai)):
                text, job_id = door.result()
                texts.append(text)
                job = http.get(f"/v1/audio/transcriptions/{job_id}").json()
                models.add(job["model"])
    oai.close()
    assert len(models) == 1, models  # one model behind both doors
    eleven_wer, openai_wer = wer(refs, from_eleven), wer(refs, from_openai)
    assert abs(eleven_wer - openai_wer) <= 0.01, (eleven_wer, openai_wer)
    assert eleven_wer < 0.2
