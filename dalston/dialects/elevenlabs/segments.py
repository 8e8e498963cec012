"""Cut tokens into the segments that exports show (ExportOptions, spec A.3).

Whisper's own segments are the starting point; each is cut further where a
silence is longer than ``segment_on_silence_longer_than_s``, where a segment would
last longer than ``max_segment_duration_s`` or hold more than
``max_segment_chars`` characters, and where the speaker or channel changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dalston.dialects.elevenlabs.tokens import Token


@dataclass(frozen=True)
class Block:
    start: float
    end: float
    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)

    @property
    def speaker(self) -> str | None:
        """Who speaks: the speaker id, else the channel it came from."""
        first = self.tokens[0]
        if first.speaker:
            return first.speaker
        return None if first.channel is None else f"channel_{first.channel}"


def split_blocks(
    units: Sequence[Sequence[Token]],
    *,
    silence_s: float | None,
    max_duration_s: float | None,
    max_chars: int | None,
) -> list[Block]:
    blocks: list[Block] = []
    for unit in units:
        current: list[Token] = []
        for token in unit:
            if current and _cut_before(
                current, token, silence_s, max_duration_s, max_chars
            ):
                blocks.append(_block(current))
                current = []
            current.append(token)
        if current:
            blocks.append(_block(current))
    blocks.sort(key=lambda b: b.start)
    return blocks


def _cut_before(
    current: list[Token],
    token: Token,
    silence_s: float | None,
    max_duration_s: float | None,
    max_chars: int | None,
) -> bool:
    last = current[-1]
    if (token.speaker, token.channel) != (last.speaker, last.channel):
        return True
    if silence_s is not None and token.start - last.end > silence_s:
        return True
    if max_duration_s is not None and token.end - current[0].start > max_duration_s:
        return True
    if max_chars is not None:
        length = sum(len(t.text) for t in current) + len(current) + len(token.text)
        if length > max_chars:
            return True
    return False


def _block(tokens: list[Token]) -> Block:
    return Block(start=tokens[0].start, end=tokens[-1].end, tokens=tuple(tokens))
