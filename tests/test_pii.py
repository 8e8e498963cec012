"""PII: the shared vocabulary, the ``presidio-pii`` and ``audio-redact`` engines.

No mocks: the real analyzer (presidio + spaCy en_core_web_sm) reads transcripts
built here, and the audio engine redacts real speech clips from tests/data. How
redacted audio is compared with its original:

- 16-bit PCM WAV originals: read with the ``wave`` module, every sample outside
  the spans is bit-identical.
- FLAC (24-bit here): read with libsndfile (``soundfile``, int16 = top 16 bits),
  an independent decoder; outside the spans the samples are identical.
- Lossy originals (mp3): decoded with ``dalston.audio.decode_pcm16``, the same
  decoder and float -> int16 conversion the engine uses (lrint(x * 32768),
  clipped, as FFmpeg's swresample does); outside the spans, identical.

Sample ranges: a span [start, end) covers samples floor(start * rate) up to
ceil(end * rate), exclusive. The spans here fall on whole samples.

The last test runs real ASR -> PII -> audio redaction on a real conversation
(tests/data/pyannote_sample.wav: "This is Diane in New Jersey. And I'm
Sheila in Texas ...") and transcribes the redacted audio again.
"""

from __future__ import annotations

import itertools
import threading
import time
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from dalston.audio import decode_pcm16
from dalston.engine_sdk import EngineConfig, PermanentEngineError, TaskInput
from dalston.engines.audio_redact.engine import AudioRedactEngine
from dalston.engines.presidio_pii.detector import CHUNK_CHARS
from dalston.engines.presidio_pii.engine import PresidioPiiEngine
from dalston.pii import (
    CATEGORIES,
    ENTITY_TYPES,
    entity_labels,
    redact_text,
    resolve_entity_types,
)

DATA = Path(__file__).parent / "data"

# Word-level timing of the transcripts built here: word i starts at i * STEP.
STEP = 0.5

PII_SENTENCES = (
    "Hi, my name is John Smith and I live in Boston.",
    "You can call me at 212 555 0199 or email john.smith@example.com.",
    "My other address is jane dot doe at gmail dot com.",
    "My credit card number is 4242 4242 4242 4242, not 4242 4242 4242 4241.",
    "My IBAN is GB82 WEST 1234 5698 7654 32.",
    "And my social security number is 536-22-1478.",
)
EXPECTED = {
    ("PERSON", "John Smith"),
    ("LOCATION", "Boston"),
    ("PHONE_NUMBER", "212 555 0199"),
    ("EMAIL_ADDRESS", "john.smith@example.com"),
    ("EMAIL_ADDRESS", "jane dot doe at gmail dot com"),
    ("CREDIT_CARD", "4242 4242 4242 4242"),  # Luhn-valid
    ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),  # mod 97 valid
    ("US_SSN", "536-22-1478"),
}
INVALID_CARD = "4242 4242 4242 4241"  # fails the Luhn check


# --- helpers ------------------------------------------------------------------


def build_transcript(
    *sentences: str, start: float = 0.0, channel: int | None = None
) -> tuple[dict[str, Any], list[tuple[int, int, float, float]]]:
    """A transcribe-shaped transcript, one segment per sentence, words split on
    spaces with punctuation attached (as Whisper's). Also returns each word's
    (start_char, end_char, start, end), known here by construction."""
    segments: list[dict[str, Any]] = []
    offsets: list[tuple[int, int, float, float]] = []
    t, char = start, 0
    for index, sentence in enumerate(sentences):
        words: list[dict[str, Any]] = []
        for token in sentence.split(" "):
            begin, end = round(t, 3), round(t + 0.8 * STEP, 3)
            words.append(
                {
                    "text": token,
                    "start": begin,
                    "end": end,
                    "confidence": 0.9,
                    "channel": channel,
                }
            )
            offsets.append((char, char + len(token), begin, end))
            char += len(token) + 1
            t += STEP
        segments.append(
            {
                "id": index,
                "start": words[0]["start"],
                "end": words[-1]["end"],
                "text": sentence,
                "channel": channel,
                "speaker": None,
                "words": words,
            }
        )
    transcript = {
        "text": " ".join(sentences),
        "language_code": "en",
        "language_probability": 0.99,
        "duration": round(t, 3),
        "decode_mode": "sequential",
        "segments": segments,
    }
    return transcript, offsets


def expected_times(
    offsets: list[tuple[int, int, float, float]], start_char: int, end_char: int
) -> tuple[float, float]:
    covering = [o for o in offsets if o[0] < end_char and o[1] > start_char]
    return min(o[2] for o in covering), max(o[3] for o in covering)


def task(
    tmp_path: Path,
    stage: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    audio: Path | None = None,
) -> TaskInput:
    work = tmp_path / stage
    work.mkdir(exist_ok=True)
    return TaskInput(
        task_id=f"t-{stage}",
        job_id="j-pii",
        stage=stage,
        params=params,
        audio_path=audio,
        inputs=inputs,
        work_dir=work,
    )


def find_pii(
    engine: PresidioPiiEngine,
    tmp_path: Path,
    transcript: Mapping[str, Any],
    **params: Any,
) -> dict[str, Any]:
    out = engine.process(task(tmp_path, "pii", params, {"transcribe": transcript}))
    assert out.files == {}
    return out.data


def found_pairs(data: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(e["entity_type"], e["text"]) for e in data["entities"]}


@pytest.fixture(scope="module")
def pii_engine() -> PresidioPiiEngine:
    return PresidioPiiEngine(EngineConfig())


# --- dalston.pii: selection and text redaction (no presidio) -------------------


def test_selection_resolves_categories_and_types_case_insensitively() -> None:
    assert resolve_entity_types(None) == ENTITY_TYPES
    assert resolve_entity_types([]) == ENTITY_TYPES
    assert resolve_entity_types("ALL") == ENTITY_TYPES
    assert resolve_entity_types(["pci"]) == CATEGORIES["pci"]
    assert resolve_entity_types("offensive_language") == ("PROFANITY",)
    assert resolve_entity_types(["Person", "person", "EMAIL_ADDRESS"]) == (
        "PERSON",
        "EMAIL_ADDRESS",
    )
    # Mixed, in ENTITY_TYPES order; ElevenLabs-style lower-case aliases.
    assert resolve_entity_types(["iban", "PHI", "ssn"]) == (
        "US_SSN",
        "IBAN_CODE",
        "MEDICAL_LICENSE",
        "UK_NHS",
    )
    every = {t for c in CATEGORIES.values() for t in c}
    assert every == set(ENTITY_TYPES)


def test_unknown_selection_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'passwords'"):
        resolve_entity_types(["pii", "passwords"])


def test_text_redaction_modes_number_same_values_alike() -> None:
    text = "Call John Smith at 555-123-4567, or john smith at 555 123 4567. Ann too."
    people = [(5, 15), (36, 46), (64, 67)]
    phones = [(19, 31), (50, 62)]
    entities = [
        {"entity_type": "PERSON", "start_char": a, "end_char": b} for a, b in people
    ] + [
        {"entity_type": "PHONE_NUMBER", "start_char": a, "end_char": b}
        for a, b in phones
    ]
    assert [text[a:b] for a, b in people] == ["John Smith", "john smith", "Ann"]
    assert redact_text(text, entities, "redacted") == (
        "Call {REDACTED} at {REDACTED}, or {REDACTED} at {REDACTED}. {REDACTED} too."
    )
    assert redact_text(text, entities, "entity_type") == (
        "Call {PERSON} at {PHONE_NUMBER}, or {PERSON} at {PHONE_NUMBER}. {PERSON} too."
    )
    assert redact_text(text, entities, "enumerated_entity_type") == (
        "Call {PERSON_1} at {PHONE_NUMBER_1}, or {PERSON_1} at {PHONE_NUMBER_1}. "
        "{PERSON_2} too."
    )
    # Labels follow the order given, numbers the order in the text.
    assert entity_labels(text, entities[::-1], "enumerated_entity_type") == [
        "PHONE_NUMBER_1",
        "PHONE_NUMBER_1",
        "PERSON_2",
        "PERSON_1",
        "PERSON_1",
    ]
    with pytest.raises(ValueError, match="unknown redaction mode"):
        redact_text(text, entities, "masked")


def test_overlapping_entities_are_redacted_once() -> None:
    text = "Mail john@example.com now"
    entities = [
        {"entity_type": "PERSON", "start_char": 5, "end_char": 9},
        {"entity_type": "EMAIL_ADDRESS", "start_char": 5, "end_char": 21},
    ]
    assert redact_text(text, entities) == "Mail {EMAIL_ADDRESS} now"


# --- presidio-pii ----------------------------------------------------------------


def test_finds_spoken_pii_with_offsets_and_word_times(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    transcript, offsets = build_transcript(*PII_SENTENCES)
    text = transcript["text"]
    data = find_pii(pii_engine, tmp_path, transcript)

    assert EXPECTED <= found_pairs(data), found_pairs(data)
    for entity in data["entities"]:
        a, b = entity["start_char"], entity["end_char"]
        assert text[a:b] == entity["text"]
        assert (entity["start"], entity["end"]) == expected_times(offsets, a, b)
        assert 0.0 < entity["confidence"] <= 1.0
    spans = [(e["start_char"], e["end_char"]) for e in data["entities"]]
    assert spans == sorted(spans)
    assert all(b <= c for (_, b), (c, _) in itertools.pairwise(spans))

    # The Luhn-invalid number is no entity of any type.
    bad = text.index(INVALID_CARD)
    assert not [a for a, b in spans if a < bad + len(INVALID_CARD) and b > bad]

    # Default: every type looked for, text masked by type.
    assert data["entity_types"] == list(ENTITY_TYPES)
    assert data["redacted_text"].startswith("Hi, my name is {PERSON} and I live in")
    assert "{CREDIT_CARD}, not 4242 4242 4242 4241." in data["redacted_text"]
    assert "social security number is {US_SSN}." in data["redacted_text"]


def test_long_transcripts_are_analysed_in_pieces_with_right_offsets(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    repeats = 20  # about 6,400 characters: more than one piece
    transcript, offsets = build_transcript(*PII_SENTENCES * repeats)
    assert len(transcript["text"]) > CHUNK_CHARS
    data = find_pii(pii_engine, tmp_path, transcript)
    for pair in EXPECTED:
        hits = [e for e in data["entities"] if (e["entity_type"], e["text"]) == pair]
        assert len(hits) == repeats, pair
    for entity in data["entities"]:
        a, b = entity["start_char"], entity["end_char"]
        assert transcript["text"][a:b] == entity["text"]
        assert (entity["start"], entity["end"]) == expected_times(offsets, a, b)


def test_digit_by_digit_numbers_and_other_spoken_forms(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    transcript, _ = build_transcript(
        "My phone number is 4 1 5 5 5 5 1 2 3 4 okay.",
        "The card is 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2 and the CVV is 737.",
        "Send it to gb82 west 1234 5698 7654 32 please.",
        "This is a damn mess.",
        "Between 2010 2015 2020 and 2025 nothing happened.",
    )
    data = find_pii(pii_engine, tmp_path, transcript)
    pairs = found_pairs(data)
    assert {
        ("PHONE_NUMBER", "4 1 5 5 5 5 1 2 3 4"),
        ("CREDIT_CARD", "4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2"),
        ("CVV", "737"),
        ("IBAN_CODE", "gb82 west 1234 5698 7654 32"),
        ("PROFANITY", "damn"),
    } <= pairs, pairs
    # Years in a row are no card number (issuer prefix, Luhn) and no phone.
    years = transcript["text"].index("Between")
    assert not [
        e
        for e in data["entities"]
        if e["end_char"] > years and e["entity_type"] != "DATE_TIME"
    ]


def test_selection_by_type_and_category(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    transcript, _ = build_transcript(*PII_SENTENCES)
    everything = find_pii(pii_engine, tmp_path, transcript)

    pci = find_pii(pii_engine, tmp_path, transcript, pii_entity_types=["PCI"])
    assert pci["entity_types"] == list(CATEGORIES["pci"])
    assert found_pairs(pci) == {
        ("CREDIT_CARD", "4242 4242 4242 4242"),
        ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
    }
    some = find_pii(
        pii_engine, tmp_path, transcript, pii_entity_types=["person", "email_address"]
    )
    assert some["entity_types"] == ["PERSON", "EMAIL_ADDRESS"]
    assert {t for t, _ in found_pairs(some)} == {"PERSON", "EMAIL_ADDRESS"}
    # A selection filters; it never changes what a span is.
    assert [
        e
        for e in everything["entities"]
        if e["entity_type"] in ("PERSON", "EMAIL_ADDRESS")
    ] == some["entities"]
    assert some["redacted_text"] == (
        "Hi, my name is {PERSON} and I live in Boston. You can call me at 212 555 0199 "
        "or email {EMAIL_ADDRESS}. My other address is {EMAIL_ADDRESS}. "
        + " ".join(PII_SENTENCES[3:])
    )
    with pytest.raises(PermanentEngineError, match="'passwords'"):
        find_pii(pii_engine, tmp_path, transcript, pii_entity_types=["passwords"])


def test_redaction_modes_in_the_stage(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    transcript, _ = build_transcript(
        "John Smith called Mary Jones.",
        "Later John Smith wrote to Mary Jones and to Peter Brown.",
    )
    expected = {
        "entity_type": "{PERSON} called {PERSON}. Later {PERSON} wrote to {PERSON} "
        "and to {PERSON}.",
        "redacted": "{REDACTED} called {REDACTED}. Later {REDACTED} wrote to "
        "{REDACTED} and to {REDACTED}.",
        "enumerated_entity_type": "{PERSON_1} called {PERSON_2}. Later {PERSON_1} "
        "wrote to {PERSON_2} and to {PERSON_3}.",
    }
    for mode, text in expected.items():
        data = find_pii(pii_engine, tmp_path, transcript, entity_redaction_mode=mode)
        assert data["redacted_text"] == text, mode
    assert (
        find_pii(pii_engine, tmp_path, transcript)["redacted_text"]
        == (expected["entity_type"])
    )
    with pytest.raises(PermanentEngineError, match="entity_redaction_mode"):
        find_pii(pii_engine, tmp_path, transcript, entity_redaction_mode="blur")


def test_words_that_do_not_match_the_text_give_no_times(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    transcript, _ = build_transcript(
        "Hi, I'm John Smith.", "Please call Mary Anne Jones now."
    )
    words = transcript["segments"][0]["words"]
    words[2]["text"], words[3]["text"] = "Jon", "Smyth."  # not what the text says
    # A middle word missing from the word list: the span's ends still have times.
    second = transcript["segments"][1]["words"]
    second[3]["text"] = "Beth"
    data = find_pii(pii_engine, tmp_path, transcript)
    by_text = {e["text"]: e for e in data["entities"]}
    john = by_text["John Smith"]
    assert transcript["text"][john["start_char"] : john["end_char"]] == "John Smith"
    assert (john["start"], john["end"]) == (None, None)
    mary = by_text["Mary Anne Jones"]
    assert (mary["start"], mary["end"]) == (second[2]["start"], second[4]["end"])


def test_multichannel_words_map_within_their_channel(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    left, _ = build_transcript("I live in Boston.", start=2.0, channel=0)
    right, _ = build_transcript("My name is Sheila Roberts.", start=0.0, channel=1)
    # As faster-whisper merges channels: text by channel, segments by time.
    transcript = {
        **left,
        "text": f"{left['text']} {right['text']}",
        "segments": right["segments"] + left["segments"],
        "channels": [
            {"channel_index": 0, "text": left["text"]},
            {"channel_index": 1, "text": right["text"]},
        ],
    }
    data = find_pii(pii_engine, tmp_path, transcript)
    by_text = {e["text"]: e for e in data["entities"]}
    boston_word = left["segments"][0]["words"][3]
    sheila, roberts = right["segments"][0]["words"][3:5]
    assert (by_text["Boston"]["start"], by_text["Boston"]["end"]) == (
        boston_word["start"],
        boston_word["end"],
    )
    assert (by_text["Sheila Roberts"]["start"], by_text["Sheila Roberts"]["end"]) == (
        sheila["start"],
        roberts["end"],
    )


def test_reads_the_latest_transcript_stage(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    plain, _ = build_transcript("Nothing to see here.")
    merged, _ = build_transcript("Nothing to see here, Sheila Roberts.")
    for inputs in ({"transcribe": plain, "merge": merged}, {"align": merged}):
        out = pii_engine.process(task(tmp_path, "pii", {}, inputs))
        assert found_pairs(out.data) == {("PERSON", "Sheila Roberts")}
    with pytest.raises(PermanentEngineError, match="transcript"):
        pii_engine.process(task(tmp_path, "pii", {}, {"diarize": {}}))
    empty = {**plain, "text": "", "segments": []}
    assert find_pii(pii_engine, tmp_path, empty)["entities"] == []


def test_analyzer_is_built_once_on_first_use_and_shared(tmp_path: Path) -> None:
    engine = PresidioPiiEngine(EngineConfig())
    assert engine.capabilities().languages == ("en",)
    assert engine.capabilities().stage == "pii"
    got: list[object] = []
    started = time.perf_counter()
    threads = [
        threading.Thread(target=lambda: got.append(engine.detector())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_s = time.perf_counter() - started
    assert len(got) == 4 and all(d is got[0] for d in got)

    transcript, _ = build_transcript(*PII_SENTENCES)
    runs = 5
    started = time.perf_counter()
    for _ in range(runs):
        find_pii(engine, tmp_path, transcript)
    per_run = (time.perf_counter() - started) / runs
    print(
        f"\nanalyzer load {load_s:.2f} s (imports included when first in the "
        f"process); {len(transcript['text'])}-char transcript: {per_run * 1000:.0f} ms"
    )
    assert engine.detector() is got[0]


# --- audio-redact ------------------------------------------------------------------

ENTITY_TIMES = [
    {"start": 0.5, "end": 1.5},
    {"start": 1.25, "end": 2.0},  # overlaps the first: one span 0.5-2.0
    {"start": 3.25, "end": 4.0},
    {"start": None, "end": None},  # words not located: skipped
]
MERGED = [{"start": 0.5, "end": 2.0}, {"start": 3.25, "end": 4.0}]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV as int16 (channels, samples), with the ``wave`` module."""
    with wave.open(str(path), "rb") as src:
        assert src.getsampwidth() == 2
        channels, rate = src.getnchannels(), src.getframerate()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return pcm.reshape(-1, channels).T, rate


def reference_pcm(path: Path) -> tuple[np.ndarray, int]:
    """The original's samples as int16, by the rule in the module docstring."""
    if path.suffix == ".wav":
        return read_wav(path)
    if path.suffix == ".flac":
        samples, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
        return samples.T, rate
    return decode_pcm16(path)


def redact(
    tmp_path: Path, audio: Path, mode: str | None
) -> tuple[dict[str, Any], np.ndarray, int]:
    params = {} if mode is None else {"pii_redaction_mode": mode}
    inputs = {"pii": {"entities": ENTITY_TIMES, "entity_types": ["PERSON"]}}
    out = AudioRedactEngine(EngineConfig()).process(
        task(tmp_path, "redact", params, inputs, audio=audio)
    )
    assert set(out.files) == {"audio/redacted.wav"}
    samples, rate = read_wav(out.files["audio/redacted.wav"])
    return out.data, samples, rate


def span_mask(count: int, rate: int) -> np.ndarray:
    mask = np.zeros(count, dtype=bool)
    for span in MERGED:
        mask[round(span["start"] * rate) : round(span["end"] * rate)] = True
    return mask


@pytest.mark.parametrize(
    "name",
    [
        "whisper_jfk.flac",  # 44.1 kHz stereo, 24-bit FLAC
        "fw_stereo_diarization.wav",  # 16 kHz stereo, 16-bit PCM
        "sb_lj050_0131.wav",  # 22.05 kHz mono, 16-bit PCM
        "wenet_ls_1995_1837_0001.mp3",  # lossy
    ],
)
def test_silence_zeroes_the_spans_and_keeps_every_other_sample(
    tmp_path: Path, name: str
) -> None:
    original, rate = reference_pcm(DATA / name)
    data, redacted, out_rate = redact(tmp_path, DATA / name, None)

    assert data == {
        "audio_key": "audio/redacted.wav",
        "mode": "silence",
        "spans": MERGED,
        "sample_rate": rate,
        "channels": original.shape[0],
    }
    assert out_rate == rate
    assert redacted.shape == original.shape
    mask = span_mask(original.shape[1], rate)
    assert np.abs(original[:, mask]).max() > 1000  # there was speech to remove
    assert not redacted[:, mask].any()
    assert np.array_equal(redacted[:, ~mask], original[:, ~mask])


@pytest.mark.parametrize("name", ["sb_lj050_0131.wav", "fw_stereo_diarization.wav"])
def test_beep_is_a_1khz_tone_over_the_spans(tmp_path: Path, name: str) -> None:
    original, rate = reference_pcm(DATA / name)
    data, redacted, _ = redact(tmp_path, DATA / name, "beep")
    assert data["mode"] == "beep" and data["spans"] == MERGED

    mask = span_mask(original.shape[1], rate)
    assert np.array_equal(redacted[:, ~mask], original[:, ~mask])
    for span in MERGED:
        a, b = round(span["start"] * rate), round(span["end"] * rate)
        for channel in redacted[:, a:b]:
            tone = channel.astype(np.float64)
            spectrum = np.abs(np.fft.rfft(tone))
            freqs = np.fft.rfftfreq(len(tone), 1 / rate)
            peak = int(spectrum.argmax())
            assert abs(freqs[peak] - 1000.0) <= rate / len(tone)
            # Nearly all energy at 1 kHz, at 0.2 of full scale.
            near = spectrum[max(peak - 2, 0) : peak + 3]
            assert (near**2).sum() / (spectrum**2).sum() > 0.99
            assert 0.19 * 32767 <= np.abs(tone).max() <= 0.2 * 32767 + 1
            ideal = np.sin(2 * np.pi * 1000.0 * np.arange(b - a) / rate)
            assert np.corrcoef(tone, ideal)[0, 1] > 0.999


def test_redaction_mode_and_audio_are_checked(tmp_path: Path) -> None:
    engine = AudioRedactEngine(EngineConfig())
    assert engine.capabilities().stage == "redact"
    with pytest.raises(PermanentEngineError, match="pii_redaction_mode"):
        engine.process(
            task(
                tmp_path,
                "redact",
                {"pii_redaction_mode": "bleep"},
                {"pii": {"entities": []}},
                audio=DATA / "sb_lj050_0131.wav",
            )
        )
    with pytest.raises(PermanentEngineError, match="original audio"):
        engine.process(task(tmp_path, "redact", {}, {"pii": {"entities": []}}))
    # No entity: the audio comes back as it was.
    out = engine.process(
        task(
            tmp_path,
            "redact",
            {},
            {"pii": {"entities": []}},
            DATA / "sb_lj050_0131.wav",
        )
    )
    assert out.data["spans"] == []
    redacted, _ = read_wav(out.files["audio/redacted.wav"])
    assert np.array_equal(redacted, read_wav(DATA / "sb_lj050_0131.wav")[0])


# --- real speech: ASR -> PII -> redacted audio ---------------------------------------


@pytest.mark.model  # faster-whisper in process
def test_real_conversation_names_are_found_and_silenced(
    pii_engine: PresidioPiiEngine, tmp_path: Path
) -> None:
    from dalston.engines.audio_prepare.engine import AudioPrepareEngine
    from dalston.engines.faster_whisper.engine import FasterWhisperEngine

    config = EngineConfig()
    prepare, whisper = AudioPrepareEngine(config), FasterWhisperEngine(config)

    def transcribe(audio: Path, label: str) -> dict[str, Any]:
        prepared = prepare.process(task(tmp_path / label, "prepare", {}, {}, audio))
        return whisper.process(
            task(
                tmp_path / label,
                "transcribe",
                {"model": config.default_model},
                {"prepare": prepared.data},
                audio=prepared.files["audio/prepared.wav"],
            )
        ).data

    (tmp_path / "original").mkdir()
    (tmp_path / "redacted").mkdir()
    audio = DATA / "pyannote_sample.wav"
    transcript = transcribe(audio, "original")
    text = transcript["text"]
    assert "Diane" in text and "Sheila" in text, text

    found = pii_engine.process(
        task(
            tmp_path,
            "pii",
            {"pii_entity_types": ["PERSON"]},
            {"transcribe": transcript},
        )
    ).data
    names = {e["text"] for e in found["entities"]}
    assert {"Diane", "Sheila"} <= names, found["entities"]
    words = [w for s in transcript["segments"] for w in s["words"]]
    for entity in found["entities"]:
        assert text[entity["start_char"] : entity["end_char"]] == entity["text"]
        said = [w for w in words if w["text"].strip(".,?!") == entity["text"]]
        assert (entity["start"], entity["end"]) in {
            (w["start"], w["end"]) for w in said
        }
    assert (
        "{PERSON}" in found["redacted_text"] and "Diane" not in found["redacted_text"]
    )

    out = AudioRedactEngine(config).process(
        task(tmp_path, "redact", {}, {"pii": found}, audio=audio)
    )
    redacted_path = out.files["audio/redacted.wav"]
    redacted, rate = read_wav(redacted_path)
    original, _ = read_wav(audio)
    mask = np.zeros(original.shape[1], dtype=bool)
    for span in out.data["spans"]:
        mask[int(np.floor(span["start"] * rate)) : int(np.ceil(span["end"] * rate))] = (
            True
        )
    assert not redacted[:, mask].any()
    assert np.array_equal(redacted[:, ~mask], original[:, ~mask])

    # Heard again, the names are gone and the places (not redacted) remain.
    again = transcribe(redacted_path, "redacted")["text"]
    print(f"\nheard: {text}\nredacted: {found['redacted_text']}\nheard again: {again}")
    assert "diane" not in again.lower() and "sheila" not in again.lower(), again
    assert "chicago" in again.lower(), again
