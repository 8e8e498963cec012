"""The languages this server transcribes, and the codes clients name them by.

Whisper knows 100 languages by (mostly) ISO 639-1 codes. A request in any dialect
may name one by its 639-1 or 639-3 code (or a common alias, or with a region:
``en-US``); a code Whisper does not know is refused when the request is checked,
not by a failed job. ElevenLabs answers with 639-3 codes (``"eng"``): ``to_iso3``.
"""

from __future__ import annotations

# Whisper code -> ISO 639-3 code used in responses.
WHISPER_TO_ISO3: dict[str, str] = {
    "af": "afr", "am": "amh", "ar": "ara", "as": "asm", "az": "aze", "ba": "bak",
    "be": "bel", "bg": "bul", "bn": "ben", "bo": "bod", "br": "bre", "bs": "bos",
    "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell",
    "en": "eng", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin",
    "fo": "fao", "fr": "fra", "gl": "glg", "gu": "guj", "ha": "hau", "haw": "haw",
    "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye",
    "id": "ind", "is": "isl", "it": "ita", "ja": "jpn", "jw": "jav", "ka": "kat",
    "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "la": "lat", "lb": "ltz",
    "ln": "lin", "lo": "lao", "lt": "lit", "lv": "lav", "mg": "mlg", "mi": "mri",
    "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "msa", "mt": "mlt",
    "my": "mya", "ne": "nep", "nl": "nld", "nn": "nno", "no": "nor", "oc": "oci",
    "pa": "pan", "pl": "pol", "ps": "pus", "pt": "por", "ro": "ron", "ru": "rus",
    "sa": "san", "sd": "snd", "si": "sin", "sk": "slk", "sl": "slv", "sn": "sna",
    "so": "som", "sq": "sqi", "sr": "srp", "su": "sun", "sv": "swe", "sw": "swa",
    "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "tk": "tuk", "tl": "tgl",
    "tr": "tur", "tt": "tat", "uk": "ukr", "ur": "urd", "uz": "uzb", "vi": "vie",
    "yi": "yid", "yo": "yor", "zh": "cmn", "yue": "yue",
}  # fmt: skip

# Other spellings accepted on input: 639-1 where Whisper differs, 639-2/B codes,
# individual-language codes of the macrolanguages above, retired codes.
_ALIASES: dict[str, str] = {
    "jv": "jw", "zho": "zh", "chi": "zh", "nob": "no", "nb": "no", "fil": "tl",
    "pes": "fa", "per": "fa", "zsm": "ms", "may": "ms", "ekk": "et", "lvs": "lv",
    "arb": "ar", "swh": "sw", "uzn": "uz", "khk": "mn", "npi": "ne", "alb": "sq",
    "arm": "hy", "baq": "eu", "bur": "my", "cze": "cs", "dut": "nl", "fre": "fr",
    "geo": "ka", "ger": "de", "gre": "el", "ice": "is", "mac": "mk", "mao": "mi",
    "rum": "ro", "slo": "sk", "tib": "bo", "wel": "cy", "iw": "he", "in": "id",
    "ji": "yi", "mo": "ro",
}  # fmt: skip

_ISO3_TO_WHISPER = {iso3: code for code, iso3 in WHISPER_TO_ISO3.items()}


def to_whisper(code: str) -> str | None:
    """Whisper's code for an ISO 639-1/639-3 code (``"eng"`` -> ``"en"``), or None
    when Whisper does not know the language. A region suffix (``en-US``) is dropped.
    """
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if base in WHISPER_TO_ISO3:
        return base
    if base in _ISO3_TO_WHISPER:
        return _ISO3_TO_WHISPER[base]
    return _ALIASES.get(base)


def to_iso3(whisper_code: str | None) -> str | None:
    """The ISO 639-3 code ElevenLabs answers with, for a Whisper code."""
    if not whisper_code:
        return None
    return WHISPER_TO_ISO3.get(whisper_code.lower(), whisper_code.lower())
