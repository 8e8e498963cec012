"""From a Whisper word ("Mr.", "well-known", "1813.", "Dalston's") to the
pronunciation-dictionary words pocketsphinx aligns, guessing pronunciations for
words the dictionary lacks.

pocketsphinx 5 has no grapheme-to-phoneme model, so a missing word is spelled out
of dictionary pieces where it splits into them ("thereunder" = there + under) and
from letter-to-sound rules elsewhere. The guess only has to be close enough for the
aligner to find the word's span between its neighbours.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from dalston.engines.pocketsphinx_align.numbers import number_words

Lookup = Callable[[str], str | None]

# Spelled-out symbols Whisper leaves in words.
_SYMBOLS = {"&": "and", "+": "plus", "@": "at", "%": "percent", "=": "equals"}
# Separators inside a written word: "well-known", "and/or", "snake_case".
_SPLIT = re.compile(r"[\s\-\u2010-\u2015/_]+")
_EDGE = re.compile(r"^[^\w$']+|[^\w%']+$")
_NUMERIC = re.compile(r"^\$?\d")
_LETTERS = re.compile(r"^[a-z']+$")

# Letter-to-sound rules for the parts no dictionary word covers, longest first
# (CMU phone set without stress marks, as the en-us acoustic model uses).
_GRAPHEMES = {
    "tion": "SH AH N",
    "sion": "ZH AH N",
    "ough": "AO",
    "augh": "AO",
    "tch": "CH",
    "sch": "S K",
    "igh": "AY",
    "ch": "CH",
    "sh": "SH",
    "th": "TH",
    "ph": "F",
    "wh": "W",
    "ck": "K",
    "ng": "NG",
    "qu": "K W",
    "gh": "G",
    "kn": "N",
    "wr": "R",
    "ee": "IY",
    "ea": "IY",
    "oo": "UW",
    "ou": "AW",
    "ow": "OW",
    "oi": "OY",
    "oy": "OY",
    "ai": "EY",
    "ay": "EY",
    "au": "AO",
    "aw": "AO",
    "ei": "EY",
    "ey": "IY",
    "ie": "IY",
    "ue": "UW",
    "ew": "UW",
    "er": "ER",
    "ir": "ER",
    "ur": "ER",
    "ar": "AA R",
    "or": "AO R",
    "a": "AE",
    "b": "B",
    "c": "K",
    "d": "D",
    "e": "EH",
    "f": "F",
    "g": "G",
    "h": "HH",
    "i": "IH",
    "j": "JH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "o": "AA",
    "p": "P",
    "q": "K",
    "r": "R",
    "s": "S",
    "t": "T",
    "u": "AH",
    "v": "V",
    "w": "W",
    "x": "K S",
    "y": "IY",
    "z": "Z",
}
_MAX_GRAPHEME = max(map(len, _GRAPHEMES))
# Dictionary pieces shorter than this are mostly acronyms or letters ("ab", "st"):
# letter rules read them better.
_MIN_PIECE = 3
# Past this length the piece search (quadratic) is not worth it: letters only.
_MAX_SPLIT_LENGTH = 40


@dataclass(frozen=True)
class SpokenWord:
    """A word to align: in the dictionary, or with the pronunciation to add."""

    word: str
    phones: str | None = None  # None: already in the dictionary


def spoken_words(text: str, lookup: Lookup) -> list[SpokenWord]:
    """What the speaker said for one written word; empty for pure punctuation."""
    token = text.lower().replace("\u2019", "'").replace("\u2018", "'").strip()
    # The dictionary is ASCII: "café" is read as "cafe", not "caf".
    token = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode()
    if not token:
        return []
    # Dotted abbreviations are dictionary words as written: "mr.", "u.s.".
    dotted = _EDGE.sub("", token.rstrip(".")) + "." if token.endswith(".") else ""
    if dotted and dotted != "." and lookup(dotted):
        return [SpokenWord(dotted)]
    out: list[SpokenWord] = []
    for part in _SPLIT.split(token):
        # A lone symbol ("&") is a word; around letters, punctuation is not.
        out.extend(_part_words(_EDGE.sub("", part) or part, lookup))
    return out


def _part_words(part: str, lookup: Lookup) -> list[SpokenWord]:
    if not part:
        return []
    if part in _SYMBOLS:
        return [SpokenWord(_SYMBOLS[part])]
    if lookup(part):
        return [SpokenWord(part)]
    if _NUMERIC.match(part):
        spoken = number_words(part)
        if spoken is None and part.isdigit():  # too long to read as a number
            spoken = [w for digit in part for w in number_words(digit) or ()]
        if spoken is not None:
            return [w for s in spoken for w in _part_words(s, lookup)]
    if "." in part:  # "u.s.a", "e.g": letters read one by one
        return [w for piece in part.split(".") for w in _part_words(piece, lookup)]
    bare = part.strip("'")
    if bare != part:
        return _part_words(bare, lookup)
    if not _LETTERS.match(part):
        # Digits inside letters ("mp3", "covid19") or other scripts: split the
        # digit runs off and read the rest.
        pieces = re.findall(r"\d+|[a-z']+", part)
        if not pieces or pieces == [part]:
            return []
        return [w for piece in pieces for w in _part_words(piece, lookup)]
    return [SpokenWord(part, guess_phones(part, lookup))]


def guess_phones(word: str, lookup: Lookup) -> str:
    """A pronunciation for a word the dictionary lacks (letters and apostrophes)."""
    if word.endswith("'s") and (base := lookup(word[:-2])):
        return f"{base} Z"
    letters = word.replace("'", "")
    n = len(letters)
    # Cheapest cover of the word by dictionary pieces (cost 1 each) and letter
    # rules (cost 1 each): pieces win because one piece covers several letters.
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for i in range(n):
        current = best[i]
        if current is None:
            continue
        cost, phones = current
        options: list[tuple[int, str, float]] = []
        if n <= _MAX_SPLIT_LENGTH:
            for j in range(i + _MIN_PIECE, n + 1):
                piece = lookup(letters[i:j])
                if piece:
                    options.append((j, piece, 1.0))
        options.extend(_grapheme_options(letters, i))
        for j, piece, step in options:
            candidate = (cost + step, [*phones, piece])
            slot = best[j]
            if slot is None or candidate[0] < slot[0]:
                best[j] = candidate
    final = best[n]
    assert final is not None  # single letters always advance
    return " ".join(p for p in final[1] if p)


def _grapheme_options(letters: str, i: int) -> list[tuple[int, str, float]]:
    options: list[tuple[int, str, float]] = []
    for size in range(_MAX_GRAPHEME, 0, -1):
        chunk = letters[i : i + size]
        if len(chunk) == size and chunk in _GRAPHEMES:
            phones = _GRAPHEMES[chunk]
            # A doubled consonant is one sound ("ll", "ss"); a final "e" after a
            # consonant is silent ("stone").
            if size == 1 and i > 0 and chunk == letters[i - 1] and chunk not in "aeo":
                phones = ""
            elif chunk == "e" and i == len(letters) - 1 and i > 1:
                phones = ""
            options.append((i + size, phones, 1.0))
    return options
