"""The diarize stage on real speech: Resemblyzer engine, DER scoring, pyannote errors.

The engine runs the real model (Resemblyzer's shipped weights) on a real two-speaker
recording (tests/data/pyannote_sample.wav, see SOURCES.md) and is scored with the
diarization error rate as the literature computes it (pyannote.metrics, no collar,
overlap scored). The shared corpus cases run too when ``../shared`` is present.
"""

from __future__ import annotations

import importlib.util
import itertools
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dalston.audio import SAMPLE_RATE, decode_to_mono, write_wav16k
from dalston.engine_sdk import (
    EngineConfig,
    PermanentEngineError,
    TaskCancelled,
    TaskInput,
)
from dalston.engines.pyannote_diarize.engine import PyannoteDiarizeEngine
from dalston.engines.resemblyzer_diarize.engine import ResemblyzerDiarizeEngine
from dalston.engines.resemblyzer_diarize.options import threshold_to_strictness
from dalston.eval.der import (
    der,
    der_components,
    evaluate_case,
    read_rttm,
    read_uem,
    write_rttm,
)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "pyannote_sample.wav"
SAMPLE_RTTM = DATA / "pyannote_sample.rttm"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "diar"
MAX_DER = 0.25


@pytest.fixture(scope="module")
def engine() -> ResemblyzerDiarizeEngine:
    return ResemblyzerDiarizeEngine(EngineConfig(cpu_threads=1))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample as the prepare stage hands it on: 16 kHz mono 16-bit WAV."""
    samples, _ = decode_to_mono(SAMPLE)
    path = tmp_path_factory.mktemp("prepared") / "prepared.wav"
    write_wav16k(path, samples)
    return path


def run(engine: ResemblyzerDiarizeEngine, audio: Path, **params: Any) -> dict[str, Any]:
    task = TaskInput(
        task_id="t",
        job_id="j",
        stage="diarize",
        params=params,
        audio_path=audio,
        inputs={},
        work_dir=audio.parent,
    )
    return engine.process(task).data


def assert_valid(result: dict[str, Any], duration: float) -> None:
    """The stage contract: named speakers in first-appearance order, sane turns."""
    assert result["backend"] == "resemblyzer"
    speakers = result["speakers"]
    assert speakers == [f"SPEAKER_{i:02d}" for i in range(len(speakers))]
    assert result["num_speakers"] == len(speakers)
    turns = result["turns"]
    assert {t["speaker"] for t in turns} == set(speakers)
    first_seen = list(dict.fromkeys(t["speaker"] for t in turns))
    assert first_seen == speakers
    for turn, following in itertools.pairwise(turns):
        assert turn["end"] <= following["start"] + 1e-6  # sorted, one at a time
    for turn in turns:
        assert 0 <= turn["start"] < turn["end"] <= duration + 1e-3


# --- DER helper -------------------------------------------------------------


def turn(start: float, end: float, speaker: str) -> dict[str, Any]:
    return {"start": start, "end": end, "speaker": speaker}


def test_der_counts_missed_speech() -> None:
    # 10 s of reference speech, the last 2 s not found: 2 / 10.
    assert der([turn(0, 10, "A")], [turn(0, 8, "x")]) == pytest.approx(0.2)


def test_der_counts_false_alarm_and_confusion() -> None:
    reference = [turn(0, 5, "A"), turn(5, 10, "B")]
    # 2 s of invented speech after the end: 2 / 10.
    parts = der_components(reference, [turn(0, 5, "x"), turn(5, 12, "y")])
    assert parts["false_alarm"] == pytest.approx(2.0)
    assert parts["der"] == pytest.approx(0.2)
    # One hypothesis speaker for both: the 5 s of the unmapped one are confused.
    parts = der_components(reference, [turn(0, 10, "x")])
    assert parts["confusion"] == pytest.approx(5.0)
    assert parts["der"] == pytest.approx(0.5)


def test_der_maps_speaker_names_and_scores_overlap() -> None:
    reference = [turn(0, 5, "A"), turn(5, 10, "B")]
    assert der(reference, [turn(0, 5, "y"), turn(5, 10, "x")]) == 0.0
    # Two speakers at once for 2 s, one found: 2 s missed out of 12 s of speech.
    overlapped = [turn(0, 6, "A"), turn(4, 10, "B")]
    hypothesis = [turn(0, 5, "x"), turn(5, 10, "y")]
    assert der(overlapped, hypothesis) == pytest.approx(2 / 12)


def test_der_honours_uem_and_collar() -> None:
    reference, hypothesis = [turn(0, 10, "A")], [turn(0, 8, "x")]
    assert der(reference, hypothesis, uem=[(0.0, 5.0)]) == 0.0
    # A 4 s collar forgives 2 s either side of each reference boundary.
    assert der(reference, hypothesis, collar=4.0) == 0.0
    assert der([], []) == 0.0


def test_rttm_and_uem_round_trip(tmp_path: Path) -> None:
    turns = [turn(0.5, 2.25, "SPEAKER_00"), turn(2.5, 4.0, "SPEAKER_01")]
    path = tmp_path / "out.rttm"
    write_rttm(path, turns, uri="case")
    assert path.read_text().splitlines()[0] == (
        "SPEAKER case 1 0.500 1.750 <NA> <NA> SPEAKER_00 <NA> <NA>"
    )
    assert read_rttm(path) == turns
    uem = tmp_path / "case.uem"
    uem.write_text("case NA 0.000 30.000\n")
    assert read_uem(uem) == [(0.0, 30.0)]
    assert len(read_rttm(SAMPLE_RTTM)) == 10


# --- Resemblyzer engine on real speech ---------------------------------------


def test_two_speakers_given_the_count() -> None:
    result = evaluate_case(SAMPLE, SAMPLE_RTTM, num_speakers=2)
    print(f"\npyannote_sample num_speakers=2: DER {result['der']:.3f}")
    assert result["num_speakers"] == 2
    assert result["der"] <= MAX_DER


def test_two_speakers_found_automatically() -> None:
    result = evaluate_case(SAMPLE, SAMPLE_RTTM)
    print(
        f"\npyannote_sample automatic: DER {result['der']:.3f}, "
        f"{result['num_speakers']} speakers in {result['seconds']:.2f} s"
    )
    assert result["num_speakers"] == 2
    assert result["der"] <= MAX_DER


def test_output_follows_the_stage_contract(
    engine: ResemblyzerDiarizeEngine, prepared: Path
) -> None:
    result = run(engine, prepared)
    assert_valid(result, 30.0)
    assert result["turns"][0]["start"] == pytest.approx(6.69, abs=0.5)


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_num_speakers_is_honoured_exactly(
    engine: ResemblyzerDiarizeEngine, prepared: Path, count: int
) -> None:
    result = run(engine, prepared, num_speakers=count)
    assert_valid(result, 30.0)
    assert result["num_speakers"] == count


@pytest.mark.parametrize("clip", ["mfa_cold_corpus.wav", "readalongs_ej_fra.m4a"])
def test_a_count_above_the_voices_heard_adds_a_minor_speaker(
    engine: ResemblyzerDiarizeEngine, clip: str
) -> None:
    """One voice (26-34 s) asked for as two: the extra speaker takes the few
    windows least like the voice (someone who said little), not half of it."""
    result = run(engine, DATA / clip, num_speakers=2)
    talk: dict[str, float] = {}
    for t in result["turns"]:
        talk[t["speaker"]] = talk.get(t["speaker"], 0.0) + t["end"] - t["start"]
    assert len(talk) == 2
    assert min(talk.values()) <= 0.15 * sum(talk.values()), talk


def test_speaker_bounds_are_honoured(
    engine: ResemblyzerDiarizeEngine, prepared: Path
) -> None:
    assert run(engine, prepared, max_speakers=1)["num_speakers"] == 1
    assert run(engine, prepared, min_speakers=3)["num_speakers"] >= 3
    assert run(engine, prepared, min_speakers=3, max_speakers=3)["num_speakers"] == 3
    bounded = run(engine, prepared, min_speakers=1, max_speakers=2)
    assert 1 <= bounded["num_speakers"] <= 2


def test_lower_threshold_finds_more_speakers(
    engine: ResemblyzerDiarizeEngine, prepared: Path
) -> None:
    counts = [
        run(engine, prepared, diarization_threshold=t)["num_speakers"]
        for t in (0.1, 0.22, 0.4)
    ]
    assert counts[0] >= counts[1] >= counts[2] >= 1
    assert counts[0] > counts[2]
    assert threshold_to_strictness(None) == threshold_to_strictness(0.22)


def test_silence_gives_an_empty_result(
    engine: ResemblyzerDiarizeEngine, tmp_path: Path
) -> None:
    path = tmp_path / "silence.wav"
    write_wav16k(path, np.zeros(3 * SAMPLE_RATE, dtype=np.float32))
    result = run(engine, path, num_speakers=2)
    assert result == {
        "backend": "resemblyzer",
        "speakers": [],
        "turns": [],
        "num_speakers": 0,
    }


@pytest.mark.parametrize("seconds", [0.0, 0.02, 0.3, 1.0])
def test_very_short_audio_gives_at_most_one_speaker(
    engine: ResemblyzerDiarizeEngine, tmp_path: Path, seconds: float
) -> None:
    samples, _ = decode_to_mono(SAMPLE)
    start = int(11.0 * SAMPLE_RATE)  # inside a turn of one speaker
    path = tmp_path / "short.wav"
    write_wav16k(path, samples[start : start + int(seconds * SAMPLE_RATE)])
    result = run(engine, path, min_speakers=2)
    assert_valid(result, seconds)
    assert result["num_speakers"] <= 1


def test_several_channels_are_mixed_down(
    engine: ResemblyzerDiarizeEngine, prepared: Path, tmp_path: Path
) -> None:
    samples, _ = decode_to_mono(SAMPLE)
    path = tmp_path / "stereo.wav"
    write_wav16k(path, np.stack([samples, samples]))
    assert run(engine, path, num_speakers=2) == run(engine, prepared, num_speakers=2)


def test_cancelled_task_stops(engine: ResemblyzerDiarizeEngine, prepared: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    task = TaskInput(
        task_id="t",
        job_id="j",
        stage="diarize",
        params={},
        audio_path=prepared,
        inputs={},
        work_dir=prepared.parent,
        cancel_event=cancel,
    )
    with pytest.raises(TaskCancelled):
        engine.process(task)


@pytest.mark.parametrize(
    "params",
    [
        {"num_speakers": 0},
        {"max_speakers": 33},
        {"num_speakers": 2.5},
        {"min_speakers": 3, "max_speakers": 2},
        {"diarization_threshold": 0.5},
        {"diarization_threshold": "high"},
    ],
)
def test_bad_params_fail_the_task(
    engine: ResemblyzerDiarizeEngine, prepared: Path, params: dict[str, Any]
) -> None:
    with pytest.raises(PermanentEngineError):
        run(engine, prepared, **params)


# --- pyannote backend: only its error paths can run offline -------------------


def test_pyannote_without_token_says_so(prepared: Path) -> None:
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token=None))
    task = TaskInput("t", "j", "diarize", {}, prepared, {}, prepared.parent)
    with pytest.raises(PermanentEngineError, match="HF_TOKEN"):
        engine.process(task)


@pytest.mark.skipif(
    importlib.util.find_spec("pyannote.audio") is not None,
    reason="pyannote.audio is installed",
)
def test_pyannote_without_package_says_so(prepared: Path) -> None:
    engine = PyannoteDiarizeEngine(EngineConfig(hf_token="hf_x"))
    task = TaskInput("t", "j", "diarize", {}, prepared, {}, prepared.parent)
    with pytest.raises(PermanentEngineError, match=r"dalston\[pyannote\]"):
        engine.process(task)


# --- the fixture in tests/data/diar: DER in every clone ---------------------------

FIXTURE = DATA / "diar"


@pytest.mark.parametrize(
    ("mode", "max_file", "max_pooled"),
    # Measured 2026-12-05 (collar 0.25 s): automatic 0.106 / 0.277 / 0.283, pooled
    # 0.203; given count 0.106 / 0.170 / 0.300, pooled 0.182. The bounds leave
    # ~0.05 for noise; issue 17's targets are 0.25 (automatic) and 0.20 (given)
    # pooled over the whole corpus.
    [("automatic", 0.35, 0.25), ("given", 0.35, 0.23)],
)
def test_fixture_der_per_file_and_pooled(
    mode: str, max_file: float, max_pooled: float
) -> None:
    """DER (pyannote.metrics, collar 0.25 s, overlap scored, UEM) of three AMI
    meeting excerpts, with the automatic speaker count and with the given one."""
    errors = total = 0.0
    per_file = {}
    for wav in sorted(FIXTURE.glob("*.wav")):
        rttm, uem = wav.with_suffix(".rttm"), wav.with_suffix(".uem")
        speakers = len({t["speaker"] for t in read_rttm(rttm)})
        params = {"num_speakers": speakers} if mode == "given" else {}
        result = evaluate_case(wav, rttm, uem, collar=0.25, **params)
        per_file[wav.stem] = (round(result["der"], 3), result["num_speakers"])
        errors += result["der"] * result["total"]
        total += result["total"]
        assert result["der"] <= max_file, (wav.stem, per_file)
        if mode == "given":
            assert result["num_speakers"] == speakers
    pooled = errors / total
    print(f"\nfixture DER ({mode} count) per file {per_file}, pooled {pooled:.3f}")
    assert len(per_file) == 3
    assert pooled <= max_pooled, per_file


# --- one speaker stays one ---------------------------------------------------------

SINGLE_SPEAKER = [
    "deepspeech_ldc93s1_8k.wav",  # 3 s, 8 kHz
    "lhotse_lj002_0020.wav",  # 1.5 s
    "lhotse_ls_2412_153948_0000.flac",
    "mfa_cold_corpus.wav",  # 26 s of spontaneous speech
    "mfa_ls_61_70968_0000.flac",
    "pv_de.wav",
    "pv_es.wav",
    "pv_fr.wav",
    "pv_ls_1272_128104_0000.wav",
    "readalongs_ej_fra.m4a",  # 34 s read aloud
    "sb_lj050_0131.wav",
    "wenet_ls_1995_1837_0001.wav",
    # 9 s of speech in 11 windows whose halves differ more than 90 % of single
    # voices' do: three speakers until a short recording's first split needed a
    # margin (ClusterOptions.first_split_margin).
    "whisper_jfk.flac",
]


@pytest.mark.parametrize("clip", SINGLE_SPEAKER)
def test_single_speaker_clip_gives_one_speaker(
    engine: ResemblyzerDiarizeEngine, clip: str
) -> None:
    """Every single-speaker recording in tests/data, automatic count: one speaker."""
    result = run(engine, DATA / clip)
    assert result["num_speakers"] == 1, result["speakers"]
    assert result["turns"]


def joined(tmp_path: Path, *clips: str) -> Path:
    """``clips`` of tests/data one after another, 0.5 s of silence between."""
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    parts = [decode_to_mono(DATA / clip)[0] for clip in clips]
    samples = np.concatenate([p for part in parts for p in (part, gap)][:-1])
    path = tmp_path / "joined.wav"
    write_wav16k(path, samples)
    return path


@pytest.mark.parametrize(
    ("clips", "voices"),
    [
        # Two LibriSpeech readers, 11 s in 13 windows: short, and still two.
        (("pv_ls_1272_128104_0000.wav", "mfa_ls_61_70968_0000.flac"), 2),
        # A reader and a TIMIT speaker at 8 kHz, 12 s.
        (("wenet_ls_1995_1837_0001.wav", "deepspeech_ldc93s1_8k.wav"), 2),
        # LJ Speech twice (one reader, two recordings), 10 s: one.
        (("sb_lj050_0131.wav", "lhotse_lj002_0020.wav"), 1),
    ],
)
def test_a_short_recording_of_two_voices_gives_two(
    engine: ResemblyzerDiarizeEngine,
    tmp_path: Path,
    clips: tuple[str, str],
    voices: int,
) -> None:
    """The margin a short recording's first split needs still lets clearly
    different voices apart, automatic count."""
    result = run(engine, joined(tmp_path, *clips))
    assert result["num_speakers"] == voices, result["turns"]


def test_a_given_count_skips_the_short_recordings_margin(
    engine: ResemblyzerDiarizeEngine, tmp_path: Path
) -> None:
    """Asked for two speakers, a short single voice is cut along its tree, as
    a longer one: the speakers found automatically and the count given agree
    (the margin only decides whether there is more than one voice)."""
    audio = joined(tmp_path, "whisper_jfk.flac")
    automatic = run(engine, audio)
    given = run(engine, audio, num_speakers=2)
    assert automatic["num_speakers"] == 1
    assert given["num_speakers"] == 2
    talk = {
        name: sum(t["end"] - t["start"] for t in given["turns"] if t["speaker"] == name)
        for name in given["speakers"]
    }
    # Not one window laid over a single voice: each side has seconds of speech.
    assert min(talk.values()) > 2.0, talk


# --- the shared corpus, when present ------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/diar is absent")
def test_corpus_der_per_case() -> None:
    """DER (collar 0.25 s) of every diar case, automatic count and given count."""
    totals = {"auto": [0.0, 0.0], "given": [0.0, 0.0]}
    print()
    for wav in sorted(CORPUS.glob("*.wav")):
        rttm, uem = wav.with_suffix(".rttm"), wav.with_suffix(".uem")
        speakers = len({t["speaker"] for t in read_rttm(rttm)})
        line = f"{wav.stem:24s}"
        for mode, params in (("auto", {}), ("given", {"num_speakers": speakers})):
            result = evaluate_case(
                wav, rttm, uem if uem.exists() else None, collar=0.25, **params
            )
            totals[mode][0] += result["der"] * result["total"]
            totals[mode][1] += result["total"]
            line += (
                f"  {mode} DER {result['der']:.3f}"
                f" ({result['num_speakers']}/{speakers} spk)"
            )
            if speakers == 1 and mode == "auto":
                assert result["num_speakers"] <= 1, wav.stem  # one stays one
        print(line + f"  {result['seconds']:.2f} s for {result['duration']:.0f} s")
    pooled = {mode: err / total for mode, (err, total) in totals.items()}
    print(f"pooled DER: auto {pooled['auto']:.3f}, given {pooled['given']:.3f}")
    # 2026-12-06: auto 0.258, given 0.223. Overlapped speech (16 % of the
    # reference, 31 s of it in ami_tst00) is never found: no overlap detector.
    assert pooled["given"] <= 0.26
    assert pooled["auto"] <= 0.31
