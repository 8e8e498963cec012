"""The transcriber's echo rules (``engine._without_echoes``) on segments made
here: a copy of a segment that touches it goes, a speaker's own repeat stays."""

from __future__ import annotations

from faster_whisper.transcribe import Segment

from dalston.engines.faster_whisper.engine import _without_echoes


def seg(start: float, end: float, text: str, no_speech: float = 0.1) -> Segment:
    return Segment(
        id=0,
        seek=0,
        start=start,
        end=end,
        text=text,
        tokens=[],
        avg_logprob=-0.2,
        compression_ratio=1.2,
        no_speech_prob=no_speech,
        words=None,
        temperature=0.0,
    )


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in _without_echoes(segments)]


def test_the_same_words_twice_over_touching_times_come_once() -> None:
    # Whisper put a window's last words 1.4 s late; the unheard pass decoded
    # them where they were (it comes after, out of time order).
    assert texts([seg(80.47, 81.47, " In 1813..."), seg(79.06, 80.4, " in 1813.")]) == [
        " In 1813..."
    ]
    # Overlapping, in time order.
    assert texts([seg(10.0, 12.0, " Thank you."), seg(11.5, 12.4, " Thank you.")]) == [
        " Thank you."
    ]


def test_a_speaker_who_says_it_again_is_kept() -> None:
    said = [seg(0.0, 1.0, " In 1813."), seg(1.6, 2.6, " In 1813.")]
    assert texts(said) == [" In 1813.", " In 1813."]


def test_a_segment_sharing_a_phrase_with_its_neighbour_is_kept() -> None:
    before = seg(0.0, 3.0, " I think that we should go now.")
    after = seg(3.05, 6.0, " I think that we should stay, said the other.")
    short = seg(6.1, 6.5, " Now.")  # one word of a longer neighbour: not a copy
    assert len(texts([before, after, short])) == 3


def test_a_copy_over_no_speech_still_goes() -> None:
    # The rule before this one: Whisper writing its previous sentence again over
    # a window it hears no speech in, however far from it.
    out = texts(
        [seg(0.0, 3.0, " The meeting starts now."), seg(20.0, 23.0, " starts now", 0.9)]
    )
    assert out == [" The meeting starts now."]
