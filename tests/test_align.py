"""The align stage (pocketsphinx-align) and the word-timing scorer.

Real speech goes through the real engines (prepare -> faster-whisper tiny.en with
word timestamps -> align) and both transcripts are scored against reference word
times (tests/data/*.align.tsv, see SOURCES.md): alignment must bring the median
word-start error to 60 ms or less, and below Whisper's own. ``pytest -s`` prints
the figures.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dalston.audio import decode_to_mono, write_wav16k
from dalston.engine_sdk import EngineConfig, TaskCancelled, TaskInput
from dalston.engine_sdk.registry import engine_class
from dalston.engines.pocketsphinx_align.engine import PocketsphinxAlignEngine
from dalston.engines.pocketsphinx_align.lexicon import spoken_words
from dalston.engines.pocketsphinx_align.numbers import number_words
from dalston.eval.timing import (
    AlignmentCase,
    TimedWord,
    TimingStats,
    evaluate_alignment_case,
    pool,
    read_reference,
    timing_error,
    transcript_words,
)

DATA = Path(__file__).parent / "data"

# Read speech (LJ Speech, LibriSpeech, TIMIT at 8 kHz), a number Whisper writes as
# digits ("In 1813."), and hand-labelled spontaneous speech with hesitations.
CLIPS = [
    "sb_lj050_0131.wav",
    "pv_ls_1272_128104_0000.wav",
    "deepspeech_ldc93s1_8k.wav",
    "lhotse_lj002_0020.wav",
    "mfa_cold_corpus.wav",
]
MAX_MEDIAN_START_MS = 60.0
# Per clip, looser: a 3-word clip's median is one word's error.
MAX_CLIP_MEDIAN_START_MS = 100.0


def reference(clip: str) -> list[TimedWord]:
    return read_reference(DATA / Path(clip).with_suffix(".align.tsv").name)


@pytest.fixture(scope="module")
def cases() -> dict[str, AlignmentCase]:
    return {
        clip: evaluate_alignment_case(DATA / clip, reference(clip)) for clip in CLIPS
    }


@pytest.fixture(scope="module")
def engine() -> PocketsphinxAlignEngine:
    return PocketsphinxAlignEngine(EngineConfig())


@pytest.fixture(scope="module")
def prepared_sb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sb_lj050_0131 as the prepare stage hands it on: 16 kHz mono WAV."""
    samples, _ = decode_to_mono(DATA / "sb_lj050_0131.wav")
    path = tmp_path_factory.mktemp("prepared") / "prepared.wav"
    write_wav16k(path, samples)
    return path


def align_task(
    tmp_path: Path,
    transcript: Mapping[str, Any],
    audio: Path | None,
    **params: Any,
) -> TaskInput:
    return TaskInput(
        task_id="t-align",
        job_id="j-align",
        stage="align",
        params=params,
        audio_path=audio,
        inputs={"transcribe": transcript},
        work_dir=tmp_path,
    )


def check_transcript(source: Mapping[str, Any], aligned: Mapping[str, Any]) -> None:
    """Only times change; words stay in order, inside the audio, per channel."""
    assert [s["text"] for s in aligned["segments"]] == [
        s["text"] for s in source["segments"]
    ]
    for before, after in zip(source["segments"], aligned["segments"], strict=True):
        assert [w["text"] for w in after["words"]] == [
            w["text"] for w in before["words"]
        ]
        assert [w["confidence"] for w in after["words"]] == [
            w["confidence"] for w in before["words"]
        ]
    for channel in {s["channel"] for s in aligned["segments"]}:
        previous = 0.0
        for word in transcript_words(aligned, channel):
            assert previous <= word.start <= word.end <= aligned["duration"] + 1e-6
            previous = word.end


# --- real speech: Whisper vs aligned word starts --------------------------------


@pytest.mark.model  # faster-whisper in process
def test_alignment_beats_whisper_on_real_speech(
    cases: dict[str, AlignmentCase],
) -> None:
    whisper = pool(case.whisper for case in cases.values())
    aligned = pool(case.aligned for case in cases.values())
    rows = [
        (clip, case.whisper, case.aligned, f"{case.align_seconds:.3f}")
        for clip, case in cases.items()
    ]
    rows.append(("all clips (words pooled)", whisper, aligned, ""))
    print("\nword-start error, ms: median (mean); words matched / reference")
    print(f"{'clip':28} {'whisper':>15} {'aligned':>15} {'words':>8} {'align s':>8}")
    for name, before, after, seconds in rows:
        print(
            f"{name:28} {_figure(before):>15} {_figure(after):>15} "
            f"{after.matched:>4}/{after.ref_words:<3} {seconds:>8}"
        )
    assert aligned.median_start_ms is not None and whisper.median_start_ms is not None
    assert aligned.median_start_ms <= MAX_MEDIAN_START_MS
    assert aligned.median_start_ms < whisper.median_start_ms
    assert aligned.matched >= 0.85 * aligned.ref_words
    for clip, case in cases.items():
        median = case.aligned.median_start_ms
        assert median is not None and median <= MAX_CLIP_MEDIAN_START_MS, clip
        assert case.alignment["method"] == "pocketsphinx"
        assert case.alignment["total_words"] == len(transcript_words(case.source))
        # Out-of-dictionary words ("1813.", "thereunder") are aligned too.
        assert case.alignment["aligned_words"] == case.alignment["total_words"], clip
        assert case.alignment["warnings"] == [], clip
        check_transcript(case.source, case.transcript)


def _figure(stats: TimingStats) -> str:
    return f"{stats.median_start_ms} ({stats.mean_start_ms})"


def test_each_channel_is_aligned_against_its_own_samples(tmp_path: Path) -> None:
    # Two clips talking at once, the second 1.5 s late: on a mix, or on the other
    # channel's samples, the words could not land on their references.
    delay = 1.5
    first, _ = decode_to_mono(DATA / "sb_lj050_0131.wav")
    second, _ = decode_to_mono(DATA / "pv_ls_1272_128104_0000.wav")
    second = np.concatenate([np.zeros(int(delay * 16000), np.float32), second])
    stereo = np.zeros((2, max(len(first), len(second))), np.float32)
    stereo[0, : len(first)] = first
    stereo[1, : len(second)] = second
    wav = tmp_path / "two_speakers.wav"
    write_wav16k(wav, stereo)
    refs = {
        0: reference("sb_lj050_0131.wav"),
        1: [
            TimedWord(w.start + delay, w.end + delay, w.word)
            for w in reference("pv_ls_1272_128104_0000.wav")
        ],
    }

    case = evaluate_alignment_case(wav, refs[0], channel=0, multichannel=True)

    assert {s["channel"] for s in case.transcript["segments"]} == {0, 1}
    assert case.alignment["aligned_words"] == case.alignment["total_words"] > 0
    check_transcript(case.source, case.transcript)
    for channel, ref in refs.items():
        whisper = timing_error(ref, transcript_words(case.source, channel))
        aligned = timing_error(ref, transcript_words(case.transcript, channel))
        print(
            f"\nchannel {channel}: whisper {whisper.median_start_ms} ms, "
            f"aligned {aligned.median_start_ms} ms ({aligned.matched} words)"
        )
        assert aligned.median_start_ms is not None
        assert aligned.median_start_ms <= MAX_MEDIAN_START_MS
        assert aligned.matched >= 0.85 * aligned.ref_words


# --- pass-through and fallbacks ----------------------------------------------------


def _transcript(language: str | None, words: list[dict[str, Any]] | None) -> dict:
    return {
        "text": "unless a system",
        "language_code": language,
        "language_probability": 0.9,
        "duration": 7.658,
        "decode_mode": "sequential",
        "segments": [
            {
                "id": 0,
                "start": 0.0,
                "end": 1.2,
                "text": "unless a system",
                "channel": None,
                "speaker": None,
                "avg_logprob": -0.2,
                "words": words,
            }
        ],
    }


def _words(*spans: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [
        {"text": t, "start": s, "end": e, "confidence": 0.9, "channel": None}
        for t, s, e in spans
    ]


def test_other_languages_keep_whisper_times_with_a_warning(
    engine: PocketsphinxAlignEngine, tmp_path: Path
) -> None:
    source = _transcript("de", _words(("Guten", 0.0, 0.5), ("Tag.", 0.5, 1.0)))

    # No audio is read for a language the model does not know.
    out = engine.process(align_task(tmp_path, source, tmp_path / "absent.wav")).data

    assert out["segments"] == source["segments"]
    assert out["alignment"]["method"] == "whisper"
    assert out["alignment"]["aligned_words"] == 0
    assert out["alignment"]["total_words"] == 2
    assert "'de'" in out["alignment"]["warnings"][0]
    assert "English" in out["alignment"]["warnings"][0]


def test_segments_without_words_pass_through(
    engine: PocketsphinxAlignEngine, prepared_sb: Path, tmp_path: Path
) -> None:
    source = _transcript("en", None)

    out = engine.process(align_task(tmp_path, source, prepared_sb)).data

    assert out["segments"] == source["segments"]
    assert out["alignment"] == {
        "method": "pocketsphinx",
        "aligned_words": 0,
        "total_words": 0,
        "warnings": [],
    }


def test_an_unalignable_segment_keeps_whisper_times(
    engine: PocketsphinxAlignEngine, prepared_sb: Path, tmp_path: Path
) -> None:
    good = _transcript(
        "en",
        _words(
            ("Unless", 0.0, 0.4),
            ("a", 0.4, 0.5),
            ("system", 0.5, 0.9),
            ("is", 0.9, 1.1),
            ("established", 1.1, 1.9),
        ),
    )
    # Forty words in the last 0.15 s of the clip: no path fits them.
    crammed = copy.deepcopy(good["segments"][0])
    crammed.update(id=1, start=7.5, end=7.65, text="established " * 40)
    crammed["words"] = _words(
        *[
            ("established", round(7.5 + i * 0.003, 3), round(7.503 + i * 0.003, 3))
            for i in range(40)
        ]
    )
    good["segments"].append(crammed)

    out = engine.process(align_task(tmp_path, good, prepared_sb)).data

    first, second = out["segments"]
    assert second["words"] == crammed["words"]
    assert out["alignment"]["aligned_words"] == 5
    assert out["alignment"]["total_words"] == 45
    assert out["alignment"]["warnings"] == [
        "segment 1: no alignment found; kept Whisper's times"
    ]
    # The segment before it is still aligned (MFA reference: 0.37 s and 0.44 s).
    assert first["words"][1]["start"] == pytest.approx(0.37, abs=0.06)
    assert first["words"][2]["start"] == pytest.approx(0.44, abs=0.06)


def test_cancellation_is_checked_between_segments(
    engine: PocketsphinxAlignEngine, prepared_sb: Path, tmp_path: Path
) -> None:
    task = align_task(
        tmp_path, _transcript("en", _words(("Unless", 0, 1))), prepared_sb
    )
    task.cancel_event.set()
    with pytest.raises(TaskCancelled):
        engine.process(task)


def test_concurrent_tasks_get_the_same_times(
    cases: dict[str, AlignmentCase], prepared_sb: Path, tmp_path: Path
) -> None:
    source = cases["sb_lj050_0131.wav"].source
    engine = PocketsphinxAlignEngine(EngineConfig())
    expected = engine.process(align_task(tmp_path, source, prepared_sb)).data
    results: list[dict[str, Any]] = []

    def run() -> None:
        results.append(engine.process(align_task(tmp_path, source, prepared_sb)).data)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [expected] * 3


def test_engine_is_registered_with_its_capabilities() -> None:
    assert engine_class("pocketsphinx-align") is PocketsphinxAlignEngine
    caps = PocketsphinxAlignEngine(EngineConfig()).capabilities()
    assert (caps.stage, caps.languages, caps.word_timestamps) == (
        "align",
        ("en",),
        True,
    )


# --- words the dictionary lacks ----------------------------------------------------


def test_written_forms_become_dictionary_words() -> None:
    known = {"mr.": "M IH S T ER", "well": "W EH L", "known": "N OW N", "and": "AH N D"}
    for word in ("eighteen", "thirteen", "five", "thousand", "dollars", "twenty"):
        known[word] = "X"
    known.update(percent="X", there="DH EH R", under="AH N D ER", third="X")

    def words(text: str) -> list[str]:
        return [w.word for w in spoken_words(text, known.get)]

    assert words("Mr.") == ["mr."]
    assert words("well-known,") == ["well", "known"]
    assert words("1813.") == ["eighteen", "thirteen"]
    assert words("$5,000") == ["five", "thousand", "dollars"]
    assert words("20%") == ["twenty", "percent"]
    assert words("&") == ["and"]
    assert words("—") == words("...") == []
    # Not in the dictionary: a pronunciation is guessed, from pieces where it can.
    (guess,) = spoken_words("thereunder", known.get)
    assert guess.phones == "DH EH R AH N D ER"
    (name,) = spoken_words("Zork", known.get)
    assert name.word == "zork" and name.phones


def test_numbers_read_as_spoken() -> None:
    assert number_words("1813") == ["eighteen", "thirteen"]
    assert number_words("2005") == ["two", "thousand", "five"]
    assert number_words("1,813") == ["one", "thousand", "eight", "hundred", "thirteen"]
    assert number_words("3rd") == ["third"]
    assert number_words("21st") == ["twenty", "first"]
    assert number_words("3.14") == ["three", "point", "one", "four"]
    assert number_words("10:05") == ["ten", "oh", "five"]
    assert number_words("1990s") == ["nineteen", "nineties"]
    assert number_words("abc") is None


# --- the scorer -----------------------------------------------------------------


def test_timing_error_on_a_known_case(tmp_path: Path) -> None:
    tsv = tmp_path / "ref.tsv"
    tsv.write_text(
        "start_s\tend_s\tword\n"
        "0.00\t0.20\tThe\n"
        "0.20\t0.30\tsil\n"
        "0.30\t0.60\tCAT\n"
        "0.70\t1.00\tsat\n"
        "1.00\t1.50\teighteen\n"
        "1.50\t2.00\tthirteen\n"
        "2.00\t2.40\tdown\n"
    )
    ref = read_reference(tsv)
    assert [w.word for w in ref] == [
        "The",
        "CAT",
        "sat",
        "eighteen",
        "thirteen",
        "down",
    ]
    hyp = transcript_words(
        {
            "segments": [
                {"channel": None, "words": _words(("the", 0.05, 0.25))},
                {"channel": None, "words": None},
                {
                    "channel": None,
                    "words": _words(
                        ("uh", 0.25, 0.3),  # a filler the normalizer drops
                        ("cat,", 0.35, 0.6),
                        ("sat", 0.9, 1.0),
                        ("1813", 1.1, 2.1),  # one word for two reference words
                        ("up.", 2.0, 2.4),  # a recognition error: unmatched
                    ),
                },
            ]
        }
    )

    stats = timing_error(ref, hyp)

    # Starts off by 50, 50, 200, 100 ms (the/cat/sat/1813); "down" unmatched.
    assert stats.start_errors_ms == pytest.approx((50, 50, 200, 100))
    assert stats.end_errors_ms == pytest.approx((50, 0, 0, 100))
    assert stats.matched == 4
    assert stats.ref_words == 6
    assert stats.hyp_words == 6
    assert stats.median_start_ms == 75.0
    assert stats.mean_start_ms == 100.0
    pooled = pool([stats, stats])
    assert (pooled.matched, pooled.median_start_ms) == (8, 75.0)
