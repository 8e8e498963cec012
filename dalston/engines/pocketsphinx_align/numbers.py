"""Digits as spoken English words, so the aligner can pronounce what Whisper writes.

Whisper writes "1813", "$5", "20%", "3rd"; the pronunciation dictionary only has
words. A rough reading is enough: forced alignment needs a plausible phone sequence,
not the one true reading ("1813" is "eighteen thirteen", not "one thousand ...").
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

_MONEY = re.compile(r"^\$(\d[\d,]*)(?:\.(\d{1,2}))?$")
_PERCENT = re.compile(r"^(\d[\d,]*(?:\.\d+)?)%$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DECADE = re.compile(r"^(\d+)'?s$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DECIMAL = re.compile(r"^(\d[\d,]*)\.(\d+)$")
_INTEGER = re.compile(r"^\d[\d,]*$")


def cardinal(n: int) -> list[str]:
    """``n`` (0 <= n < 10**12) as words: 2345 -> two thousand three hundred ..."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [_ONES[hundreds], "hundred"] + (cardinal(rest) if rest else [])
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return cardinal(high) + [name] + (cardinal(rest) if rest else [])
    raise AssertionError("unreachable")


def year(n: int) -> list[str]:
    """Read as a year where English does: 1813 -> eighteen thirteen."""
    high, low = divmod(n, 100)
    if 2000 <= n < 2010:
        return cardinal(n)
    if low == 0:
        return [*cardinal(high), "hundred"]
    if low < 10:
        return [*cardinal(high), "oh", _ONES[low]]
    return cardinal(high) + cardinal(low)


def ordinal(n: int) -> list[str]:
    words = cardinal(n)
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def _integer(digits: str) -> list[str] | None:
    plain = digits.replace(",", "")
    if not plain.isdigit() or len(plain) > 12:
        return None
    n = int(plain)
    # Four digits without a thousands comma are mostly years in speech.
    if "," not in digits and len(plain) == 4 and 1100 <= n <= 2099:
        return year(n)
    return cardinal(n)


def _digits(digits: str) -> list[str]:
    return [_ONES[int(d)] for d in digits]


def number_words(token: str) -> list[str] | None:
    """Spoken words for a numeric token, or None when it is not one."""
    if match := _MONEY.match(token):
        words = _integer(match[1])
        if words is None:
            return None
        unit = "dollar" if words == ["one"] else "dollars"
        cents = [*cardinal(int(match[2])), "cents"] if match[2] else []
        return [*words, unit, *cents]
    if match := _PERCENT.match(token):
        words = number_words(match[1])
        return None if words is None else [*words, "percent"]
    if match := _ORDINAL.match(token):
        return ordinal(int(match[1])) if len(match[1]) <= 12 else None
    if match := _CLOCK.match(token):
        minutes = int(match[2])
        tail = [] if minutes == 0 else cardinal(minutes)
        if 0 < minutes < 10:
            tail = ["oh", *tail]
        return cardinal(int(match[1])) + tail
    if match := _DECIMAL.match(token):
        whole = _integer(match[1])
        return None if whole is None else [*whole, "point", *_digits(match[2])]
    if _INTEGER.match(token):
        return _integer(token)
    if match := _DECADE.match(token):
        words = _integer(match[1])
        if not words:
            return None
        last = words[-1]
        words[-1] = last[:-1] + "ies" if last.endswith("y") else last + "s"
        return words
    return None
