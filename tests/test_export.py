"""Subtitle and text exports."""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import pairwise

import pytest

from dalston.transcript import Segment, Speaker, Transcript, TranscriptMetadata, Word
from dalston.transcript.export import CueOptions, ExportFormat, cues, render


def _transcript() -> Transcript:
    words = [
        Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4)
        for i, w in enumerate(
            "one two three four five six seven eight nine ten".split()
        )
    ]
    return Transcript(
        text="one two three four five six seven eight nine ten",
        language_code="en",
        language_probability=1.0,
        duration=3725.5,
        segments=[
            Segment(
                id=0,
                start=0.0,
                end=5.0,
                text=" ".join(w.text for w in words),
                words=words,
                speaker="SPEAKER_00",
            ),
            Segment(id=1, start=3723.25, end=3725.5, text="last words"),
        ],
        metadata=TranscriptMetadata(model="m"),
    )


def test_srt_numbers_cues_and_formats_hours() -> None:
    srt = render(_transcript(), ExportFormat.SRT, CueOptions())
    blocks = srt.strip().split("\n\n")
    assert blocks[0].startswith("1\n00:00:00,000 --> 00:00:04,900\n")
    assert blocks[-1] == "2\n01:02:03,250 --> 01:02:05,500\nlast words"


def test_long_segments_split_on_word_times() -> None:
    options = CueOptions(max_line_length=10, max_lines=1)
    vtt = render(_transcript(), ExportFormat.VTT, options)
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.strip().split("\n\n")[1:]
    assert len(cues) > 3
    for cue in cues:
        _timing, *lines = cue.split("\n")
        assert len(lines) == 1 and len(lines[0]) <= 10
    assert cues[1].startswith("00:00:01.000 --> ")  # "three four" starts at 1.0 s


def test_speakers_in_txt_and_srt() -> None:
    transcript = _transcript()
    txt = render(transcript, ExportFormat.TXT, CueOptions(include_speakers=True))
    assert txt.startswith("SPEAKER_00: one two")
    srt = render(transcript, ExportFormat.SRT, CueOptions(include_speakers=True))
    assert "[SPEAKER_00] one two" in srt


def test_vtt_names_speakers_with_voice_spans_and_escapes_text() -> None:
    transcript = _transcript()
    first = transcript.segments[0]
    transcript.segments[0] = first.model_copy(
        update={
            "text": "R&D <now>",
            "words": [
                w.model_copy(update={"text": t})
                for w, t in zip(first.words or [], ["R&D", "<now>"], strict=False)
            ][:2],
        }
    )
    transcript.speakers = [Speaker(id="SPEAKER_00", label="Ana <Chair> & co")]
    vtt = render(transcript, ExportFormat.VTT, CueOptions(include_speakers=True))
    cue = vtt.split("\n\n")[1]
    assert cue.split("\n")[1] == "<v Ana &lt;Chair&gt; &amp; co>R&amp;D &lt;now&gt;"
    plain = render(transcript, ExportFormat.VTT, CueOptions())
    assert "R&amp;D &lt;now&gt;" in plain and "<v " not in plain
    srt = render(transcript, ExportFormat.SRT, CueOptions(include_speakers=True))
    assert "[Ana <Chair> & co] R&D <now>" in srt  # SubRip has no escaping


def test_json_round_trips() -> None:
    transcript = _transcript()
    again = Transcript.model_validate_json(
        render(transcript, ExportFormat.JSON, CueOptions())
    )
    assert again == transcript


# --- subtitle rules -------------------------------------------------------------
def _spoken(text: str, words: list[str], step: float = 0.3) -> Transcript:
    timed = [
        Word(text=w, start=round(i * step, 3), end=round(i * step + step * 0.9, 3))
        for i, w in enumerate(words)
    ]
    return Transcript(
        text=text,
        language_code="fr",
        language_probability=0.9,
        duration=len(words) * step,
        segments=[Segment(id=0, start=0.0, end=timed[-1].end, text=text, words=timed)],
        metadata=TranscriptMetadata(model="m"),
    )


def _cue_blocks(srt: str) -> list[tuple[float, float, list[str]]]:
    def seconds(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    blocks = []
    for block in srt.strip().split("\n\n"):
        _index, timing, *lines = block.split("\n")
        start, end = timing.split(" --> ")
        blocks.append((seconds(start), seconds(end), lines))
    return blocks


def test_words_are_joined_as_the_language_writes_them() -> None:
    text = " Bonjour, je m'appelle Claire, self-substantial et c'est tout."
    words = ["Bonjour,", "je", "m'", "appelle", "Claire,", "self", "-substantial"]
    words += ["et", "c'", "est", "tout."]
    srt = render(_spoken(text, words), ExportFormat.SRT, CueOptions())
    body = " ".join(line for _, _, lines in _cue_blocks(srt) for line in lines)
    assert "m'appelle" in body and "self-substantial" in body and "c'est" in body
    assert "m 'appelle" not in body and "self -substantial" not in body


def test_cues_keep_to_lines_and_characters_and_break_at_punctuation() -> None:
    sentence = "This is the first sentence. And here comes a second one, rather long"
    sentence += " and winding, that goes on well past what fits on two lines of text."
    words = sentence.split()
    options = CueOptions(max_line_length=30, max_lines=2)
    blocks = _cue_blocks(render(_spoken(sentence, words), ExportFormat.SRT, options))
    assert len(blocks) >= 3
    for start, end, lines in blocks:
        assert 1 <= len(lines) <= 2 and all(len(line) <= 30 for line in lines)
        assert end - start >= 0.5
    assert blocks[0][2][-1].endswith("sentence.")  # cut at the sentence end
    starts = [b[0] for b in blocks]
    assert starts == sorted(starts)
    assert all(a[1] <= b[0] for a, b in pairwise(blocks))


def test_no_cue_is_shorter_than_half_a_second() -> None:
    words = [Word(text="Yes.", start=1.0, end=1.1)]
    words += [
        Word(text=w, start=1.12 + i * 0.3, end=1.4 + i * 0.3)
        for i, w in enumerate("then a long run of words follows here".split())
    ]
    transcript = Transcript(
        text="Yes. then a long run of words follows here",
        language_code="en",
        language_probability=None,
        duration=4.0,
        segments=[
            Segment(id=0, start=1.0, end=1.1, text="Yes.", words=words[:1]),
            Segment(
                id=1,
                start=1.12,
                end=words[-1].end,
                text=" ".join(w.text for w in words[1:]),
                words=words[1:],
            ),
        ],
        metadata=TranscriptMetadata(model="m"),
    )
    blocks = _cue_blocks(render(transcript, ExportFormat.SRT, CueOptions()))
    assert all(end - start >= 0.5 - 1e-6 for start, end, _ in blocks), blocks
    assert all(a[1] <= b[0] + 1e-6 for a, b in pairwise(blocks))


def _unworded(text: str, language: str, duration: float) -> Transcript:
    """One segment without word times."""
    return Transcript(
        text=text,
        language_code=language,
        language_probability=None,
        duration=duration,
        segments=[Segment(id=0, start=0.0, end=duration, text=text)],
        metadata=TranscriptMetadata(model="m"),
    )


def test_segments_without_word_times_are_cut_too() -> None:
    text = " ".join(f"word{i}" for i in range(40))
    transcript = _unworded(text, "en", 20.0)
    options = CueOptions(max_line_length=20, max_lines=2)
    blocks = _cue_blocks(render(transcript, ExportFormat.SRT, options))
    assert len(blocks) > 4
    assert all(len(lines) <= 2 and max(map(len, lines)) <= 20 for *_, lines in blocks)
    assert blocks[-1][1] == 20.0


def test_text_without_spaces_wraps_by_character() -> None:
    text = "今日はとても良い天気ですね。明日も晴れるといいですね。" * 3
    transcript = _unworded(text, "ja", 9.0)
    options = CueOptions(max_line_length=16, max_lines=2)
    blocks = _cue_blocks(render(transcript, ExportFormat.SRT, options))
    assert "".join("".join(lines) for *_, lines in blocks) == text
    assert all(len(lines) <= 2 and max(map(len, lines)) <= 16 for *_, lines in blocks)


def test_no_cue_ends_inside_a_written_word() -> None:
    text = " Il est très self-substantial, n'est-ce pas, mon ami"
    words = ["Il", "est", "très", "self", "-substantial,", "n'", "est", "-ce"]
    words += ["pas,", "mon", "ami"]
    for width in range(8, 30):
        options = CueOptions(max_line_length=width, max_lines=1)
        blocks = _cue_blocks(render(_spoken(text, words), ExportFormat.SRT, options))
        lines = [line for *_, cue_lines in blocks for line in cue_lines]
        # Lines and cues meet only at spaces: joined by one, they are the text.
        assert " ".join(lines) == text.strip(), width


def test_dialect_limits_cut_cues_by_characters_duration_and_silence() -> None:
    sentence = "one two three four five six seven eight nine ten eleven twelve"
    words = sentence.split()
    transcript = _spoken(sentence, words, step=0.5)
    loose = CueOptions(max_line_length=1000, max_lines=1000, pause_s=None)
    assert len(cues(transcript, loose)) == 1
    by_chars = cues(transcript, replace(loose, max_cue_chars=20))
    assert all(len(c.text) <= 20 for c in by_chars) and len(by_chars) > 2
    by_time = cues(transcript, replace(loose, max_cue_s=2.0))
    assert all(c.end - c.start <= 2.0 for c in by_time) and len(by_time) > 2
    # Each cue knows its words: all of them, in order, once.
    assert [i for c in by_time for i in c.words] == list(range(len(words)))


def test_layout_rules_hold_on_dense_random_speech() -> None:
    """Seeded random word lists (clitics, hyphens, long words, tiny pauses): every
    cue keeps to max_lines and max_line_length, cues are ordered and never
    overlap, and a cue under 0.5 s is left only where joining it to a neighbour
    would break the lines rule (rare: fast speech in one narrow line), or at the
    end of the audio (here the last word's end)."""
    rng = random.Random(11)
    vocab = "the cat sat on a mat. however, self -made m' appelle it's yes. no!"
    vocab += " extraordinarily-long-word fine; ok"
    pieces = vocab.split()
    total = short = 0
    for _ in range(400):
        t, words, text = 0.0, [], ""
        for _ in range(rng.randint(1, 40)):
            piece = rng.choice(pieces)
            glued = piece.startswith("-") or (words and words[-1].text.endswith("'"))
            text += ("" if glued else " ") + piece
            t += rng.choice([0.0, 0.0, 0.05, 0.1, 0.3, 1.2])
            length = rng.uniform(0.05, 0.6)
            words.append(Word(text=piece, start=round(t, 3), end=round(t + length, 3)))
            t += length
        transcript = _spoken(text, [w.text for w in words])
        transcript.segments[0].words = words
        transcript.segments[0].end = words[-1].end
        transcript.duration = words[-1].end  # the audio ends with the last word
        options = CueOptions(
            max_line_length=rng.choice([12, 20, 42]), max_lines=rng.choice([1, 2])
        )
        found = cues(transcript, options)
        total += len(found)
        for cue in found:
            assert 1 <= len(cue.lines) <= options.max_lines, cue
            for line in cue.lines:
                assert len(line) <= options.max_line_length or " " not in line
            if cue.end - cue.start < 0.5 - 1e-9:
                if cue is found[-1]:  # it could not grow past the audio's end
                    assert cue.end == transcript.duration, cue
                else:
                    short += 1
        for a, b in pairwise(found):
            assert a.start <= b.start and a.end <= b.start + 1e-9, (a, b)
        assert " ".join(c.text for c in found) == text.strip()
    assert short < total * 0.02, (short, total)


def test_a_short_clips_cue_ends_with_the_audio() -> None:
    """A cue shorter than MIN_CUE_S at the end of the audio grows back into the
    silence before it, never past the end (a 0.4 s clip: the cue is the clip)."""
    for duration, start, end in ((0.4, 0.05, 0.35), (3.0, 2.7, 2.95)):
        transcript = Transcript(
            text="Hi.",
            language_code="en",
            language_probability=None,
            duration=duration,
            segments=[
                Segment(
                    id=0,
                    start=start,
                    end=end,
                    text="Hi.",
                    words=[Word(text="Hi.", start=start, end=end)],
                )
            ],
            metadata=TranscriptMetadata(model="m"),
        )
        srt = render(transcript, ExportFormat.SRT, CueOptions())
        [(first, last, _)] = _cue_blocks(srt)
        assert last <= duration
        assert last - first == pytest.approx(min(0.5, duration), abs=1e-3)
