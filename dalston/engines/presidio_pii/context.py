"""Context words: what makes an ambiguous shape a piece of PII."""

from __future__ import annotations

import re
from collections.abc import Iterable

# How far before a match to look ("my phone number is ..." fits in it).
CONTEXT_WINDOW = 48


def has_context(text: str, start: int, words: Iterable[str]) -> bool:
    """True when one of ``words`` ends within ``CONTEXT_WINDOW`` characters
    before ``start`` (whole words, case-insensitive)."""
    before = text[max(0, start - CONTEXT_WINDOW) : start].lower()
    return any(re.search(rf"\b{re.escape(w)}\b", before) for w in words)
