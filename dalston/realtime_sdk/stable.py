"""LocalAgreement: only words that two successive decodes agree on become stable,
so partial transcripts grow without flickering."""

from __future__ import annotations


class StablePrefix:
    def __init__(self) -> None:
        self.stable: list[str] = []
        self._previous: list[str] = []

    def update(self, hypothesis: list[str]) -> str:
        """Feed a new decode of the growing utterance; returns the partial text:
        the stable words, then the new decode's words after them."""
        agreed = 0
        for a, b in zip(self._previous, hypothesis, strict=False):
            if _norm(a) != _norm(b):
                break
            agreed += 1
        if agreed > len(self.stable):
            self.stable = hypothesis[:agreed]
        self._previous = hypothesis
        tail = hypothesis[len(self.stable) :]
        return " ".join(self.stable + tail)

    def reset(self) -> None:
        self.stable = []
        self._previous = []


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())
