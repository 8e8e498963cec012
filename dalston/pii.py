"""PII vocabulary shared by the API layers and the PII stages.

- ``ENTITY_TYPES``: the entity types Dalston detects (presidio's names, plus
  ``CVV`` and ``PROFANITY`` from its own recognizers).
- ``CATEGORIES``: ElevenLabs' ``entity_detection`` categories, mapped to types.
- ``resolve_entity_types``: a user selection (categories and/or types) -> types.
- ``redact_text``: text with entities replaced in one of ElevenLabs' three modes;
  ``entity_labels``: the same placeholders, per entity (to mask word lists).

Deliberately free of presidio and spaCy, so the gateway imports it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ALL = "all"

# ElevenLabs' categories. Each type is in exactly one, so ``all`` is their union;
# their order here is the order of ``ENTITY_TYPES`` (stable API output).
CATEGORIES: Mapping[str, tuple[str, ...]] = {
    # Identifies a person directly or through an identifier issued to them.
    "pii": (
        "PERSON",
        "LOCATION",
        "DATE_TIME",
        "PHONE_NUMBER",
        "EMAIL_ADDRESS",
        "IP_ADDRESS",
        "US_SSN",
        "US_ITIN",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
    ),
    # Payment data: cards and the accounts money moves between.
    "pci": ("CREDIT_CARD", "CVV", "IBAN_CODE", "US_BANK_NUMBER"),
    # Health identifiers; no detector for conditions or drugs ships offline.
    "phi": ("MEDICAL_LICENSE", "UK_NHS"),
    # NRP: nationality, religious or political group.
    "other": ("ORGANIZATION", "NRP", "URL"),
    "offensive_language": ("PROFANITY",),
}

# Every type Dalston detects, in the order ``resolve_entity_types`` returns them.
ENTITY_TYPES: tuple[str, ...] = tuple(t for types in CATEGORIES.values() for t in types)

# Other spellings users send (ElevenLabs-style lower-case names, short forms).
ALIASES: Mapping[str, str] = {
    "name": "PERSON",
    "person_name": "PERSON",
    "address": "LOCATION",
    "date": "DATE_TIME",
    "phone": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS",
    "ip": "IP_ADDRESS",
    "ssn": "US_SSN",
    "credit_card_number": "CREDIT_CARD",
    "card_number": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "bank_account_number": "US_BANK_NUMBER",
    "organisation": "ORGANIZATION",
    "profanity": "PROFANITY",
}

# Text redaction modes (ElevenLabs ``entity_redaction_mode``).
REDACTION_MODES: tuple[str, ...] = ("redacted", "entity_type", "enumerated_entity_type")
DEFAULT_REDACTION_MODE = "entity_type"

# Audio redaction modes (native ``pii_redaction_mode``).
AUDIO_REDACTION_MODES: tuple[str, ...] = ("silence", "beep")
DEFAULT_AUDIO_REDACTION_MODE = "silence"

_BY_NAME: dict[str, tuple[str, ...]] = {
    **{t.lower(): (t,) for t in ENTITY_TYPES},
    **{a: (t,) for a, t in ALIASES.items()},
    **dict(CATEGORIES.items()),
    ALL: ENTITY_TYPES,
}


def resolve_entity_types(selection: str | Iterable[str] | None) -> tuple[str, ...]:
    """Entity types for a selection of categories and/or types, case-insensitive.

    ``None``, an empty list and ``"all"`` select every type. The result follows
    ``ENTITY_TYPES`` order, without duplicates. Raises ``ValueError`` naming the
    first item that is neither a category nor a type.
    """
    items = [selection] if isinstance(selection, str) else list(selection or ())
    if not items:
        return ENTITY_TYPES
    chosen: set[str] = set()
    for item in items:
        types = _BY_NAME.get(str(item).strip().lower())
        if types is None:
            raise ValueError(
                f"unknown entity type or category {item!r}; categories: "
                f"{', '.join([ALL, *CATEGORIES])}; types: {', '.join(ENTITY_TYPES)}"
            )
        chosen.update(types)
    return tuple(t for t in ENTITY_TYPES if t in chosen)


def entity_labels(
    text: str,
    entities: Sequence[Mapping[str, Any]],
    mode: str = DEFAULT_REDACTION_MODE,
) -> list[str]:
    """The placeholder label (without braces) of each entity, in the order given.

    ``redacted`` -> ``REDACTED``; ``entity_type`` -> ``PERSON``;
    ``enumerated_entity_type`` -> ``PERSON_1``, numbered per type in order of
    appearance in ``text``, where the same value (ignoring case, spacing and
    punctuation) keeps its number.
    """
    if mode not in REDACTION_MODES:
        raise ValueError(
            f"unknown redaction mode {mode!r}; one of {', '.join(REDACTION_MODES)}"
        )
    labels = [""] * len(entities)
    numbers: dict[str, dict[str, int]] = {}
    for i in sorted(range(len(entities)), key=lambda i: _order(entities[i])):
        entity_type = str(entities[i]["entity_type"])
        if mode == "redacted":
            labels[i] = "REDACTED"
        elif mode == "entity_type":
            labels[i] = entity_type
        else:
            start, end = _span(entities[i])
            value = text[start:end] or str(entities[i].get("text") or "")
            seen = numbers.setdefault(entity_type, {})
            number = seen.setdefault(_value_key(value), len(seen) + 1)
            labels[i] = f"{entity_type}_{number}"
    return labels


def redact_text(
    text: str,
    entities: Iterable[Mapping[str, Any]],
    mode: str = DEFAULT_REDACTION_MODE,
) -> str:
    """``text`` with each entity's ``[start_char, end_char)`` replaced by
    ``{LABEL}`` (see ``entity_labels``). An entity overlapping an earlier one is
    skipped, so no span is redacted twice."""
    items = list(entities)
    labels = entity_labels(text, items, mode)
    parts: list[str] = []
    cursor = 0
    for i in sorted(range(len(items)), key=lambda i: _order(items[i])):
        start, end = _span(items[i])
        if start < cursor or not 0 <= start < end <= len(text):
            continue
        parts += [text[cursor:start], "{", labels[i], "}"]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def _span(entity: Mapping[str, Any]) -> tuple[int, int]:
    return int(entity["start_char"]), int(entity["end_char"])


def _order(entity: Mapping[str, Any]) -> tuple[int, int]:
    """Text order; of two starting together, the longer first (it is kept)."""
    start, end = _span(entity)
    return start, -end


def _value_key(value: str) -> str:
    """What makes two mentions "the same value": "John Smith" == "john smith",
    "555-123-4567" == "555 123 4567"."""
    key = re.sub(r"\W+", "", value.casefold())
    return key or value.casefold()
