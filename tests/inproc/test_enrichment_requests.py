"""Requests for the enrichment stages (speakers, alignment, PII), in process: the
refusals, and a stage whose engine is not served refused at submit time.

The fast layer serves no diarizer, aligner or PII engine, as a server installed
without those extras; the stages themselves are proven with their real engines in
``tests/test_enrichment_api.py``.
"""

from __future__ import annotations

import pytest

from tests.audio_fixtures import DATA
from tests.inproc.conftest import InProcess

NAMED = DATA / "pv_ls_1272_128104_0000.wav"


@pytest.mark.parametrize(
    ("data", "param"),
    [
        (
            {"pii_detection": "true", "pii_entity_types": "PASSPORT_OF_MARS"},
            "pii_entity_types",
        ),
        ({"pii_entity_types": "PERSON"}, "pii_entity_types"),
        ({"speaker_detection": "everyone"}, "speaker_detection"),
        ({"num_speakers": "2"}, "num_speakers"),
        ({"speaker_detection": "diarize", "num_speakers": "40"}, "num_speakers"),
        (
            {"speaker_detection": "diarize", "min_speakers": "3", "max_speakers": "2"},
            "min_speakers",
        ),
        (
            {"redact_pii_audio": "true", "pii_redaction_mode": "whistle"},
            "pii_redaction_mode",
        ),
        (
            {"timestamps_granularity": "segment", "word_alignment": "true"},
            "word_alignment",
        ),
    ],
)
async def test_bad_enrichment_fields_are_400(
    inproc: InProcess, data: dict[str, str], param: str
) -> None:
    response = await inproc.client.post(
        "/v1/audio/transcriptions",
        files={"file": ("a.wav", NAMED.read_bytes())},
        data=data,
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["param"] == param


async def test_a_stage_without_its_engine_is_refused_at_submit(
    inproc: InProcess,
) -> None:
    before = inproc.stored_keys("jobs")
    for data, engine in (
        ({"speaker_detection": "diarize"}, "resemblyzer-diarize"),
        ({"pii_detection": "true"}, "presidio-pii"),
        ({"word_alignment": "true"}, "pocketsphinx-align"),
    ):
        response = await inproc.client.post(
            "/v1/audio/transcriptions",
            files={"file": ("a.wav", NAMED.read_bytes())},
            data=data,
        )
        assert response.status_code == 400, response.text
        assert engine in response.json()["error"]["message"]
    assert inproc.stored_keys("jobs") == before  # nothing kept
    # The default still works: Whisper's own word times, no align stage.
    job = await inproc.wait(await inproc.submit(NAMED))
    assert job["status"] == "completed"
    assert [s["stage"] for s in job["stages"]] == ["prepare", "transcribe"]


async def test_redacted_audio_of_a_job_without_redaction_is_404(
    inproc: InProcess,
) -> None:
    job_id = await inproc.submit(NAMED)
    await inproc.wait(job_id)
    response = await inproc.client.get(
        f"/v1/audio/transcriptions/{job_id}/audio/redacted"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
