"""The model and language policy (``dalston.services.policy``) and the request
model's rules, without a server: what ``auto`` becomes for each language and
task, and which pairs are refused (and how the refusal reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dalston.catalog import ModelCatalog
from dalston.config import Settings
from dalston.errors import InvalidRequest, ValidationFailed
from dalston.services import policy
from dalston.services.request import TranscriptionRequest, form_schema


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> ModelCatalog:
    return ModelCatalog(cache_dir=Path(tmp_path_factory.mktemp("models")))


def _choose(
    catalog: ModelCatalog, settings: Settings | None = None, **values: str
) -> policy.ModelChoice:
    request = TranscriptionRequest.build(**values)
    return policy.choose(request, settings or Settings(), catalog)


@pytest.mark.parametrize(
    ("values", "model", "language"),
    [
        ({}, "whisper-base", None),  # no language: detect, multilingual
        ({"language": "auto"}, "whisper-base", None),
        ({"language": "de"}, "whisper-base", "de"),
        ({"language": "en"}, "whisper-tiny.en", "en"),
        ({"language": "EN-us"}, "whisper-tiny.en", "en"),
        ({"language": "en", "task": "translate"}, "whisper-base", "en"),
        ({"model": "whisper-tiny.en"}, "whisper-tiny.en", None),
        ({"model": "whisper-base", "language": "en"}, "whisper-base", "en"),
    ],
)
def test_auto_is_english_only_for_english(
    catalog: ModelCatalog, values: dict[str, str], model: str, language: str | None
) -> None:
    choice = _choose(catalog, **values)
    assert (choice.model, choice.language) == (model, language)


def test_a_multilingual_default_serves_everything(catalog: ModelCatalog) -> None:
    settings = Settings(default_model="whisper-base", multilingual_model="nope")
    assert _choose(catalog, settings).model == "whisper-base"
    assert _choose(catalog, settings, language="fr").model == "whisper-base"


@pytest.mark.parametrize(
    ("values", "param"),
    [
        ({"model": "whisper-tiny.en", "language": "de"}, "language"),
        ({"model": "whisper-tiny.en", "task": "translate"}, "model"),
    ],
)
def test_english_only_model_refusals_name_the_model_to_use(
    catalog: ModelCatalog, values: dict[str, str], param: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        _choose(catalog, **values)
    assert refused.value.param == param
    assert "'whisper-base'" in refused.value.message


@pytest.mark.parametrize(
    ("values", "names", "param", "words"),
    [
        ({"num_speakers": 0, "speaker_detection": "diarize"}, {}, "num_speakers",
         "greater than or equal to 1"),
        ({"vocabulary": [f"t{i}" for i in range(101)]},
         {"vocabulary": "keyterms"}, "keyterms", "at most 100 items"),
        ({"retention_days": 3651}, {}, "retention", "less than or equal to 3650"),
        ({"retention": -2}, {}, "retention", "greater than or equal to -1"),
        ({"temperature": 2.5}, {}, "temperature", "less than or equal to 2"),
        ({"language": "not a code"}, {}, "language", "invalid language code"),
        ({"language": "xx"}, {}, "language", "not one of the languages"),
        ({"max_speakers": 3}, {}, "max_speakers", "only used with diarization"),
    ],
)  # fmt: skip
def test_request_refusals_name_the_callers_field(
    values: dict[str, object], names: dict[str, str], param: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        TranscriptionRequest.build(names, **values)
    assert refused.value.status_code == 400
    assert refused.value.param == param
    assert refused.value.message.startswith(f"{param}: ") and words in (
        refused.value.message
    )


def test_elevenlabs_asks_for_its_422() -> None:
    with pytest.raises(ValidationFailed) as refused:
        TranscriptionRequest.build(
            {"vocabulary": "keyterms"}, error=ValidationFailed, vocabulary=["x" * 51]
        )
    assert refused.value.loc == ["body", "keyterms"]


def test_vocabulary_is_cleaned_and_retention_keep_is_none() -> None:
    request = TranscriptionRequest.build(
        vocabulary=[" a", "a", "", "b "], retention_days=-1
    )
    assert request.vocabulary == ("a", "b") and request.retention_days is None
    with pytest.raises(Exception):  # frozen  # noqa: B017
        request.model = "x"  # type: ignore[misc]


def test_form_schema_carries_the_limits() -> None:
    schema = form_schema(["vocabulary", "retention_days", "num_speakers"])
    props = schema["properties"]
    assert props["vocabulary"]["maxItems"] == 100
    assert props["vocabulary"]["items"]["maxLength"] == 50
    assert props["retention"]["anyOf"][0] == {
        "maximum": 3650,
        "minimum": -1,
        "type": "integer",
    }
    assert props["num_speakers"]["anyOf"][0]["maximum"] == 32


def test_temperature_zero_is_whispers_schedule_in_every_dialect() -> None:
    """OpenAI's documented 0 and ElevenLabs' "usually 0" decode alike: Whisper's
    fallback schedule (None), as raw faster-whisper does by default."""
    assert TranscriptionRequest.build(temperature=0).temperature is None
    assert TranscriptionRequest.build(temperature="0").temperature is None
    assert TranscriptionRequest.build(temperature=0.2).temperature == 0.2
