"""The align stage (pocketsphinx-align) and the word-timing scorer.

Real speech goes through the real engines (prepare -> faster-whisper tiny.en with
word timestamps -> align) and both transcripts are scored against reference word
times (tests/data/*.align.tsv, see SOURCES.md): alignment must bring the median
word-start error to 60 ms or less, and below Whisper's own. ``pytest -s`` prints
the figures.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dalston.audio import decode_to_mono, write_wav16k
from dalston.engine_sdk import EngineConfig, TaskCancelled, TaskInput
from dalston.engine_sdk.registry import engine_class
from dalston.engines.pocketsphinx_align.aligner import WordTiming
from dalston.engines.pocketsphinx_align.engine import PocketsphinxAlignEngine
from dalston.engines.pocketsphinx_align.lexicon import spoken_words
from dalston.engines.pocketsphinx_align.numbers import number_words
from dalston.engines.pocketsphinx_align.retime import retime_track
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


# --- stretches far apart are aligned side by side ----------------------------------


class _EvenAligner:
    """Spreads the words evenly over the window: no state kept between calls, so
    one after another and side by side must agree exactly. Counts the calls that
    ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0

    def align_texts(
        self, samples: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[list[str]], list[WordTiming] | None]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        step = len(samples) / 16000 / len(texts)
        timings = [WordTiming(i * step, (i + 0.8) * step) for i in range(len(texts))]
        return [[text] for text in texts], timings


@dataclass(frozen=True)
class _Silence:
    duration: float

    def read(self, start: int, end: int) -> np.ndarray:
        return np.zeros(end - start, np.float32)


def _segment(index: int, start: float, end: float) -> dict[str, Any]:
    words = 4
    step = (end - start) / words
    return {
        "id": index,
        "start": start,
        "end": end,
        "words": _words(
            *(
                (f"w{index}-{i}", start + i * step, start + (i + 1) * step)
                for i in range(words)
            )
        ),
    }


def test_stretches_apart_are_aligned_side_by_side_with_the_same_times() -> None:
    # Three stretches (pauses of 2 s and more between them); the middle one is
    # 80 s of segments 0.2 s apart: two runs (60 s at most each), one after the
    # other, the second starting where the first one's words end.
    bounds = [(0.5, 4.0), (4.3, 6.0), (9.0, 14.0)]
    bounds += [(14.2 + 10 * i, 24.0 + 10 * i) for i in range(8)]
    bounds += [(100.0, 103.0), (103.5, 105.0)]
    segments = [_segment(i, a, b) for i, (a, b) in enumerate(bounds)]
    track = _Silence(110.0)
    results = {}
    for parallel in (1, 3):
        aligner = _EvenAligner()
        retimed = copy.deepcopy(segments)
        result = retime_track(aligner, retimed, track, lambda: None, parallel=parallel)
        assert result.failed_segments == []
        assert result.aligned_words == 4 * len(segments)
        results[parallel] = (retimed, aligner.most)
    assert results[1][1] == 1
    assert results[3][1] == 3  # every stretch at once
    assert results[3][0] == results[1][0]
    words = [w for s in results[3][0] for w in s["words"]]
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))


class _CountingAligner(_EvenAligner):
    def __init__(self) -> None:
        super().__init__()
        self.windows: list[int] = []  # samples of each window aligned

    def align_texts(
        self, samples: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[list[str]], list[WordTiming] | None]:
        self.windows.append(len(samples))
        return super().align_texts(samples, texts)


def test_stretches_aligned_ahead_are_taken_as_they_were() -> None:
    # A transcript in three versions, as transcription goes on: stretches 2 s and
    # more apart. Working ahead aligns the stretches that can no longer change
    # (not the last one); the whole transcript then aligns only what is new, or
    # changed: a segment that a later version put into an early stretch (a
    # second pass's) makes that stretch new.
    bounds = [(0.5, 4.0), (4.3, 6.0), (9.0, 14.0), (20.0, 24.0), (30.0, 33.0)]
    bounds += [(40.0, 44.0), (44.5, 46.0)]
    whole = [_segment(i, a, b) for i, (a, b) in enumerate(bounds)]
    track = _Silence(50.0)
    alone = copy.deepcopy(whole)
    expected = retime_track(_EvenAligner(), alone, track, lambda: None)

    known: dict[Any, Any] = {}
    aligner = _CountingAligner()
    for upto in (3, 5):  # versions so far: the first 3, then 5 segments
        version = copy.deepcopy(whole[:upto])
        retime_track(aligner, version, track, lambda: None, known=known, open_end=True)
    # Version 1: stretch [0, 1] (not [2], the open end); version 2: [2], [3].
    assert len(aligner.windows) == 3
    final = copy.deepcopy(whole)
    result = retime_track(aligner, final, track, lambda: None, known=known)
    assert len(aligner.windows) == 5  # only [4] (open before) and [5, 6]
    assert final == alone
    assert (result.aligned_words, result.failed_segments) == (
        expected.aligned_words,
        expected.failed_segments,
    )

    # A later version with a segment in the first stretch: that one again.
    changed = copy.deepcopy(whole)
    changed.insert(2, _segment(99, 6.3, 6.8))
    retime_track(aligner, changed, track, lambda: None, known=known)
    assert len(aligner.windows) == 6


@pytest.mark.model  # faster-whisper in process
def test_a_recording_with_pauses_aligns_as_well_side_by_side(
    cases: dict[str, AlignmentCase], tmp_path: Path
) -> None:
    # The clips one after another with 2 s pauses, through the engine with one
    # aligner process and with two (stretches side by side, one file reader).
    gap = 2.0
    pieces, segments, ref, offset = [], [], [], 0.0
    for clip, case in cases.items():
        samples, _ = decode_to_mono(DATA / clip)
        pieces += [samples, np.zeros(int(gap * 16000), np.float32)]
        for segment in case.source["segments"]:
            moved = copy.deepcopy(segment)
            moved["id"] = len(segments)
            moved["start"] += offset
            moved["end"] += offset
            for word in moved["words"]:
                word["start"] += offset
                word["end"] += offset
            segments.append(moved)
        ref += [
            TimedWord(w.start + offset, w.end + offset, w.word) for w in reference(clip)
        ]
        offset += len(samples) / 16000 + gap
    wav = tmp_path / "pauses.wav"
    write_wav16k(wav, np.concatenate(pieces))
    source = {**next(iter(cases.values())).source, "segments": segments}
    source["duration"] = offset
    aligned: dict[Any, dict[str, Any]] = {}
    for threads in (1, 2):
        engine = PocketsphinxAlignEngine(EngineConfig(cpu_threads=threads))
        try:
            assert engine.parallel == threads
            aligned[threads] = engine.process(align_task(tmp_path, source, wav)).data
            if threads == 1:
                # Worked ahead on the transcript so far (its first half, then
                # all of it but its last stretch still open), as while it is
                # transcribed: the result is the same.
                ahead = align_task(tmp_path, {}, wav)
                half = len(segments) // 2
                for upto in (half, len(segments)):
                    engine.work_ahead(ahead, {**source, "segments": segments[:upto]})
                reused = len(ahead.ahead["stretches"])
                assert reused >= 2
                whole = dataclasses.replace(ahead, inputs={"transcribe": source})
                aligned["ahead"] = engine.process(whole).data
                # Only the stretch left open was aligned now.
                assert len(ahead.ahead["stretches"]) == reused + 1
        finally:
            engine.close()
    for transcript in aligned.values():
        check_transcript(source, transcript)
        assert transcript["alignment"]["aligned_words"] == len(transcript_words(source))
        stats = timing_error(ref, transcript_words(transcript))
        assert stats.median_start_ms is not None
        assert stats.median_start_ms <= MAX_MEDIAN_START_MS
    # The decoder carries a little state from one window to the next (a frame
    # here and there; on some machines a clip's first word after a pause, "The",
    # by 0.29 s), so the runs agree to within a few frames on almost every word,
    # not exactly.
    one, two, ahead = (transcript_words(aligned[n]) for n in (1, 2, "ahead"))
    for other in (two, ahead):
        moved = [abs(a.start - b.start) for a, b in zip(one, other, strict=True)]
        assert sum(m >= 0.05 for m in moved) <= 0.02 * len(moved), moved
        assert max(moved) < 0.5, moved


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
