"""``additional_formats``: parse and check the ExportOptions list (spec A.3).

The Python SDK sends one JSON array in a part with ``Content-Type:
application/json``, the JS SDK a JSON string in a text part with camelCase option
keys (``maxCharactersPerLine``); both are read here, and each option is checked
against its format: an unknown format or option is a 422, never ignored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from starlette.datastructures import UploadFile

from dalston.errors import ValidationFailed

if TYPE_CHECKING:  # gateway imports the routes, which import this module
    from dalston.gateway.forms import FormFields

MAX_ITEMS = 10
FIELD = "additional_formats"

_SEGMENTING = {
    "include_speakers": True,
    "include_timestamps": True,
    "segment_on_silence_longer_than_s": None,
    "max_segment_duration_s": None,
    "max_segment_chars": None,
}
# Defaults per format [OAS25].
DEFAULTS: dict[str, dict[str, Any]] = {
    "srt": {
        "max_characters_per_line": 42,
        "include_speakers": False,
        "include_timestamps": True,
        "segment_on_silence_longer_than_s": 0.8,
        "max_segment_duration_s": 4.0,
        "max_segment_chars": 84,
    },
    "txt": {"max_characters_per_line": 100, **_SEGMENTING},
    "segmented_json": dict(_SEGMENTING),
    "docx": dict(_SEGMENTING),
    "pdf": dict(_SEGMENTING),
    "html": dict(_SEGMENTING),
}
_BOOLS = ("include_speakers", "include_timestamps")
_INTS = ("max_characters_per_line", "max_segment_chars")
_FLOATS = ("segment_on_silence_longer_than_s", "max_segment_duration_s")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class ExportSpec:
    format: str
    max_characters_per_line: int | None
    include_speakers: bool
    include_timestamps: bool
    segment_on_silence_longer_than_s: float | None
    max_segment_duration_s: float | None
    max_segment_chars: int | None


def parse_additional_formats(fields: FormFields) -> list[ExportSpec]:
    items: list[Any] = []
    fields.read.update((FIELD, f"{FIELD}[]"))
    for value in [*fields.form.getlist(FIELD), *fields.form.getlist(f"{FIELD}[]")]:
        if isinstance(value, UploadFile):
            value.file.seek(0)
            raw = value.file.read().decode("utf-8", errors="replace").strip()
        else:
            raw = str(value).strip()
        if raw.lower() in ("", "null", "[]"):
            continue
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            raise _invalid("must be a JSON array of export options.") from None
        items.extend(parsed if isinstance(parsed, list) else [parsed])
    if len(items) > MAX_ITEMS:
        raise _invalid(f"takes at most {MAX_ITEMS} items, not {len(items)}.")
    return [_spec(index, item) for index, item in enumerate(items)]


def _spec(index: int, item: Any) -> ExportSpec:
    if not isinstance(item, dict):
        raise _invalid("items must be objects with a 'format'.", index)
    options = {_snake(str(k)): v for k, v in item.items()}
    fmt = options.pop("format", None)
    if not isinstance(fmt, str) or fmt.lower() not in DEFAULTS:
        raise _invalid(
            f"format must be one of {', '.join(DEFAULTS)}, not {fmt!r}.",
            index,
            "format",
        )
    fmt = fmt.lower()
    values = dict(DEFAULTS[fmt])
    for key, raw in options.items():
        if key not in values:
            raise _invalid(
                f"{key!r} is not an option of the {fmt} format; its options are "
                f"{', '.join(values)}.",
                index,
                key,
            )
        if raw is not None:
            values[key] = _coerce(key, raw, index)
    if fmt == "srt" and not values["include_timestamps"]:
        raise _invalid(
            "include_timestamps=false is not possible for srt: every SubRip cue "
            "has a time line (use txt, html, docx or pdf without timestamps).",
            index,
            "include_timestamps",
        )
    values.setdefault("max_characters_per_line", None)
    return ExportSpec(format=fmt, **values)


def _coerce(key: str, raw: Any, index: int) -> Any:
    if key in _BOOLS:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _invalid(f"{key} must be true or false.", index, key)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise _invalid(f"{key} must be a number.", index, key) from None
    # Bools, NaN and infinity (JSON's 1e999 parses to inf) are not numbers.
    if isinstance(raw, bool) or not math.isfinite(number):
        raise _invalid(f"{key} must be a number.", index, key)
    if key in _INTS:
        if number != int(number) or not 1 <= number <= 10_000:
            raise _invalid(f"{key} must be a whole number in 1..10000.", index, key)
        return int(number)
    low_ok = number > 0 if key == "max_segment_duration_s" else number >= 0
    if not low_ok or number > 86_400:
        raise _invalid(f"{key} must be a positive number of seconds.", index, key)
    return number


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _invalid(
    message: str, index: int | None = None, key: str | None = None
) -> Exception:
    loc: list[Any] = ["body", FIELD]
    if index is not None:
        loc.append(index)
    if key is not None:
        loc.append(key)
    # FastAPI-style locations hold list indices as ints.
    return ValidationFailed(
        f"{FIELD}: {message}", param=FIELD, loc=cast("list[str]", loc)
    )
