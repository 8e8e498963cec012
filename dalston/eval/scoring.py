"""WER / CER as ASR leaderboards score: Whisper's English normalizer, then jiwer."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any


@cache
def _english_normalizer() -> Any:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


@cache
def _basic_normalizer() -> Any:
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize(text: str, language: str = "en") -> str:
    normalizer = _english_normalizer() if language == "en" else _basic_normalizer()
    return str(normalizer(text)).strip()


def wer(
    references: Sequence[str], hypotheses: Sequence[str], language: str = "en"
) -> float:
    """Corpus WER over aligned lists (words pooled, not a mean of per-clip rates)."""
    import jiwer

    refs = [normalize(r, language) for r in references]
    hyps = [normalize(h, language) for h in hypotheses]
    return float(jiwer.wer(refs, hyps))


def cer(references: Sequence[str], hypotheses: Sequence[str], language: str) -> float:
    import jiwer

    refs = [normalize(r, language).replace(" ", "") for r in references]
    hyps = [normalize(h, language).replace(" ", "") for h in hypotheses]
    return float(jiwer.cer(refs, hyps))
