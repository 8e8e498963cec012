"""Recognizers for PII as speech recognition writes it, next to presidio's own.

Presidio's built-ins expect typed text. Transcripts differ: numbers come as digit
groups split by spaces or dashes, sometimes one digit at a time ("4 2 4 2 ..."),
e-mail addresses as "john dot smith at gmail dot com", IBANs in lower case. Each
recognizer here validates what it can (Luhn, IBAN mod 97, SSN ranges, NANP
shape) and asks for a context word where the shape alone is ambiguous.

Imports presidio: load this module only where presidio is installed.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from dalston.engines.presidio_pii.context import has_context


class _Recognizer(EntityRecognizer):
    """A rule-based recognizer: nothing to load, English only."""

    ENTITIES: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=type(self).__name__,
            supported_language="en",
        )

    def load(self) -> None:
        pass

    def found(
        self, entity: str, start: int, end: int, score: float
    ) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity,
            start=start,
            end=end,
            score=min(score, 1.0),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


# --- numbers: cards, phones, SSNs --------------------------------------------

# Digit groups joined by one space, a dash or a dot ("555-123-4567", "4 2 4 2"),
# an optional leading "+" and parentheses around the area code. A dot joins only
# without spaces: "4567. 42" is the end of a sentence.
_DIGIT_RUN = re.compile(r"(?<![\w.+])\+?\(?\d+\)?(?:(?:\s?-\s?|\.|\s)\(?\d+\)?)*(?!\w)")
_GROUP = re.compile(r"\d+")

PHONE_CONTEXT = (
    "phone",
    "call",
    "number",
    "cell",
    "mobile",
    "reach",
    "text",
    "dial",
    "contact",
    "fax",
    "telephone",
)
SSN_CONTEXT = ("social security", "social", "ssn", "security number")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_prefix_ok(digits: str) -> bool:
    """Issuer ranges of the card networks in use (Visa, Mastercard, Amex,
    Discover, JCB, Diners): rules out most digit strings that are not cards."""
    if digits[0] in "3456":
        return True
    return 2221 <= int(digits[:4]) <= 2720  # Mastercard's 2-series


def _card_grouping_ok(groups: list[int]) -> bool:
    """How people (and ASR) group card numbers: one block, digit by digit, blocks
    of four (the last may be shorter), or Amex/Diners' 4-6-5 / 4-6-4."""
    return (
        len(groups) == 1
        or all(g == 1 for g in groups)
        or (all(g == 4 for g in groups[:-1]) and groups[-1] <= 4)
        or groups in ([4, 6, 5], [4, 6, 4])
    )


def _ssn_ok(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
    )


def _nanp_ok(digits: str) -> bool:
    """A North American number: area code and exchange start with 2-9."""
    return digits[0] in "23456789" and digits[3] in "23456789"


class SpokenNumberRecognizer(_Recognizer):
    """Card, phone and SSN numbers written as grouped or single digits."""

    ENTITIES = ("CREDIT_CARD", "PHONE_NUMBER", "US_SSN")

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results = []
        for match in _DIGIT_RUN.finditer(text):
            found = self._classify(text, match.start(), match.group())
            if found is not None and found[0] in entities:
                entity, score = found
                results.append(self.found(entity, *match.span(), score))
        return results

    def _classify(self, text: str, start: int, run: str) -> tuple[str, float] | None:
        groups = [len(g) for g in _GROUP.findall(run)]
        digits = "".join(_GROUP.findall(run))
        n = len(digits)
        if (
            13 <= n <= 19
            and _card_grouping_ok(groups)
            and _card_prefix_ok(digits)
            and luhn_ok(digits)
        ):
            return "CREDIT_CARD", 1.0
        phone_context = has_context(text, start, PHONE_CONTEXT)
        if n == 9 and _ssn_ok(digits):
            if has_context(text, start, SSN_CONTEXT):
                return "US_SSN", 0.95
            if groups == [3, 2, 4]:
                return "US_SSN", 0.6
        if run.startswith("+") and 8 <= n <= 15:
            return "PHONE_NUMBER", 0.9 if phone_context else 0.7
        if n == 11 and digits[0] == "1":
            digits, n = digits[1:], 10
        if n == 10 and _nanp_ok(digits):
            return "PHONE_NUMBER", 0.9 if phone_context else 0.6
        if n == 7 and groups == [3, 4] and digits[0] in "23456789" and phone_context:
            return "PHONE_NUMBER", 0.75  # a local number, only when called one
        return None


# --- e-mail addresses, spelled out ---------------------------------------------

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|tv|uk|us|ca|au|de|"
    "fr|nl|es|it|ch|se|no|dk|fi|pl|ie|be|at|in|jp|nz|br|eu"
)
# Each separator belongs to one rule only ("-" joins local parts, not words
# within one), so a long hyphenated word cannot make the match backtrack badly.
_LOCAL_PART = r"[a-z0-9]+(?:[%+][a-z0-9]+)*"
_LOCAL_JOIN = r"(?:\s+(?:dot|underscore|dash|hyphen)\s+|[._-])"
_LABEL = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_DOMAIN_JOIN = r"(?:\s+dot\s+|\.)"
_SPOKEN_EMAIL = re.compile(
    rf"(?<![\w@.])(?P<local>{_LOCAL_PART}(?:{_LOCAL_JOIN}{_LOCAL_PART})*)"
    rf"(?P<at>\s+at\s+|\s*@\s*)"
    rf"{_LABEL}(?:{_DOMAIN_JOIN}{_LABEL})*?{_DOMAIN_JOIN}(?:{_TLDS})(?![\w@])",
    re.IGNORECASE,
)
EMAIL_CONTEXT = ("email", "e-mail", "mail", "address")


class SpokenEmailRecognizer(_Recognizer):
    """E-mail addresses as said: "john dot smith at gmail dot com"."""

    ENTITIES = ("EMAIL_ADDRESS",)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results = []
        for match in _SPOKEN_EMAIL.finditer(text):
            if "@" in match.group("at"):
                score = 1.0
            elif has_context(text, match.start(), EMAIL_CONTEXT):
                score = 0.95
            elif re.search(rf"{_LOCAL_JOIN}|\d", match.group("local"), re.I):
                score = 0.6  # "john.smith at ..." looks like an address
            else:
                continue  # "looking at google.com" is not one
            results.append(self.found("EMAIL_ADDRESS", *match.span(), score))
        return results


# --- IBAN, any case, grouped or not ------------------------------------------------

# Lengths per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
    "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![a-z0-9])([a-z]{2})[ -]?(\d{2})", re.IGNORECASE)
_IBAN_GROUP = re.compile(r"[ -]?([a-z0-9]+)", re.IGNORECASE)


def iban_ok(iban: str) -> bool:
    """ISO 7064 mod 97-10 over the IBAN with its first four characters moved to
    the end and letters as numbers (A=10 ... Z=35)."""
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved.upper())) % 97 == 1


class SpokenIbanRecognizer(_Recognizer):
    """IBANs in any case, in groups of four or unbroken, checksum-validated."""

    ENTITIES = ("IBAN_CODE",)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results = []
        for match in _IBAN_START.finditer(text):
            end = self._end(text, match)
            if end is not None:
                results.append(self.found("IBAN_CODE", match.start(), end, 1.0))
        return results

    @staticmethod
    def _end(text: str, start: re.Match[str]) -> int | None:
        """End offset of the IBAN starting at ``start``: groups are consumed until
        the country's length is reached exactly at a group boundary."""
        length = IBAN_LENGTHS.get(start.group(1).upper())
        if length is None:
            return None
        chars = start.group(1) + start.group(2)
        pos = start.end()
        while len(chars) < length:
            group = _IBAN_GROUP.match(text, pos)
            # Grouped IBANs use blocks of at most 4; a longer block must carry
            # digits (an unbroken IBAN), not be the next word.
            if group is None or (len(group[1]) > 4 and group[1].isalpha()):
                return None
            chars += group[1]
            pos = group.end()
        bban = chars[4:]
        if (
            len(chars) != length
            or sum(c.isdigit() for c in bban) * 2 < len(bban)
            or not iban_ok(chars)
        ):
            return None
        return pos


# --- card security codes -----------------------------------------------------

_CVV = re.compile(
    r"\b(?:cvv2?|cvc2?|csc|security code|card verification (?:code|value))\b"
    r"[^0-9]{0,24}?(?P<code>\d(?:\s?\d){2,3})(?![\d-])",
    re.IGNORECASE,
)


class CvvRecognizer(_Recognizer):
    """A 3-4 digit code right after "CVV" / "security code"."""

    ENTITIES = ("CVV",)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        return [self.found("CVV", *m.span("code"), 0.9) for m in _CVV.finditer(text)]


# --- profanity ------------------------------------------------------------------

# General English profanity as Whisper spells it out. Slurs are deliberately
# not listed here: a deployment that must flag them extends this pattern.
_PROFANITY = re.compile(
    r"\b(?:motherfuck\w*|fuck\w*|bullshit\w*|shit(?:s|ty|ting|ted|head|heads)?|"
    r"bitch\w*|bastards?|assholes?|cunts?|dickheads?|goddamn\w*|damn(?:ed|it)?|"
    r"pissed|crap|whores?|sluts?)\b",
    re.IGNORECASE,
)


class ProfanityRecognizer(_Recognizer):
    """Swear words (ElevenLabs' ``offensive_language`` category)."""

    ENTITIES = ("PROFANITY",)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        return [
            self.found("PROFANITY", *m.span(), 0.9) for m in _PROFANITY.finditer(text)
        ]


def spoken_recognizers() -> list[EntityRecognizer]:
    return [
        SpokenNumberRecognizer(),
        SpokenEmailRecognizer(),
        SpokenIbanRecognizer(),
        CvvRecognizer(),
        ProfanityRecognizer(),
    ]
