"""Give each word and segment of a transcript the speaker of the turn it falls in.

Pure functions over the stage JSON (see docs/stages.md), so they are easy to test
and cheap: no model, no audio.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dalston.transcript.speakers import talk_times
from dalston.transcript.text import separators


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def parse_turns(raw: Sequence[dict[str, Any]]) -> list[Turn]:
    turns = [
        Turn(float(t["start"]), float(t["end"]), str(t["speaker"]))
        for t in raw
        if float(t["end"]) > float(t["start"])
    ]
    return sorted(turns, key=lambda t: (t.start, t.end))


class SpeakerLookup:
    """The speaker talking most over a time span; the nearest turn in a pause."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = list(turns)
        self._starts = [t.start for t in self.turns]

    def speaker_for(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        end = max(end, start)
        # Turns starting after ``end`` cannot overlap; scan back from there. Turns
        # are short and few per word, so the scan stays small in practice.
        hi = bisect.bisect_right(self._starts, end)
        overlap: dict[str, float] = {}
        for turn in self.turns[max(0, hi - 64) : hi]:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap.items(), key=lambda kv: kv[1])[0]
        middle = (start + end) / 2
        nearest = min(
            self.turns,
            key=lambda t: (
                0.0
                if t.start <= middle <= t.end
                else min(abs(t.start - middle), abs(t.end - middle))
            ),
        )
        return nearest.speaker


def label_transcript(
    transcript: dict[str, Any], turns: Sequence[Turn]
) -> dict[str, Any]:
    """A copy of ``transcript`` with speakers on words and segments.

    A segment whose words change speaker is split there, so every segment has
    one speaker; segments are renumbered and the top-level text rebuilt from them.
    """
    lookup = SpeakerLookup(turns)
    segments: list[dict[str, Any]] = []
    for segment in transcript.get("segments", []):
        for piece in _split_by_speaker(segment, lookup):
            segments.append({**piece, "id": len(segments)})
    ordered = _first_appearance(turns, segments)
    rename = {old: f"SPEAKER_{i:02d}" for i, old in enumerate(ordered)}
    for segment in segments:
        if segment.get("speaker") is not None:
            segment["speaker"] = rename[segment["speaker"]]
        for word in segment.get("words") or []:
            if word.get("speaker") is not None:
                word["speaker"] = rename[word["speaker"]]
    # Who spoke when is the turns' answer; words can miss a mumbled backchannel.
    talk = talk_times((t.speaker, t.start, t.end) for t in turns)
    return {
        **transcript,
        "segments": segments,
        "text": " ".join(s["text"] for s in segments if s["text"]),
        "speakers": [
            {
                "id": rename[s],
                "label": None,
                "channel": None,
                "talk_time": talk.get(s, 0.0),
            }
            for s in ordered
        ],
    }


def _split_by_speaker(
    segment: dict[str, Any], lookup: SpeakerLookup
) -> list[dict[str, Any]]:
    words = segment.get("words")
    if not words:
        speaker = lookup.speaker_for(float(segment["start"]), float(segment["end"]))
        return [{**segment, "speaker": speaker}]
    labelled = [
        {**w, "speaker": lookup.speaker_for(float(w["start"]), float(w["end"]))}
        for w in words
    ]
    runs: list[list[dict[str, Any]]] = [[labelled[0]]]
    for word in labelled[1:]:
        if word["speaker"] == runs[-1][-1]["speaker"]:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [{**segment, "speaker": runs[0][0]["speaker"], "words": labelled}]
    # Each piece's text spaced as the segment's ("m'" + "appelle", not "m 'appelle").
    seps = iter(separators([str(w["text"]).strip() for w in labelled], segment["text"]))
    pieces = []
    for i, run in enumerate(runs):
        texts = [(next(seps), str(w["text"]).strip()) for w in run]
        pieces.append(
            {
                **segment,
                # Decoder details (tokens, seek) describe the whole segment.
                "tokens": None,
                "start": segment["start"] if i == 0 else run[0]["start"],
                "end": segment["end"] if i == len(runs) - 1 else run[-1]["end"],
                "text": "".join(
                    (sep if j else "") + text for j, (sep, text) in enumerate(texts)
                ),
                "speaker": run[0]["speaker"],
                "words": run,
            }
        )
    return pieces


def _first_appearance(
    turns: Sequence[Turn], segments: Sequence[dict[str, Any]]
) -> list[str]:
    """Speakers in the order they first speak in the transcript, then the rest."""
    order: list[str] = []
    for segment in segments:
        for who in [w.get("speaker") for w in segment.get("words") or []] or [
            segment.get("speaker")
        ]:
            if who is not None and who not in order:
                order.append(who)
    for turn in turns:
        if turn.speaker not in order:
            order.append(turn.speaker)
    return order
