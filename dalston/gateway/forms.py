"""Liberal multipart parsing shared by the three dialects.

The official SDKs disagree on encodings (see shared specs, compat-apis A.5/C.2):
literal ``null`` strings, lists as repeated parts, ``key[]`` parts or JSON arrays,
nested ``key[sub]`` parts, booleans in any case. ``FormFields`` reads them all one
way and remembers which fields were read, so a handler can refuse the rest instead
of ignoring them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.datastructures import FormData, UploadFile

from dalston.errors import DalstonError, InvalidRequest

_ABSENT = ("", "null", "none", "undefined")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class FormFields:
    def __init__(self, form: FormData, error: type[DalstonError] = InvalidRequest):
        self.form = form
        self.error = error
        self.read: set[str] = set()

    def _values(self, name: str, *, nul_checked: bool = True) -> list[Any]:
        self.read.update((name, f"{name}[]"))
        values = [*self.form.getlist(name), *self.form.getlist(f"{name}[]")]
        for value in values if nul_checked else ():
            # PostgreSQL stores no NUL in text (SQLite does): refused in both.
            if isinstance(value, str) and "\x00" in value:
                raise self.error(
                    f"{name} must not contain a NUL character (\\x00).", param=name
                )
        return values

    def text(self, name: str) -> str | None:
        """One text value; ``null`` / empty count as absent."""
        for value in self._values(name):
            if isinstance(value, UploadFile):
                raise self.error(f"{name} must be a text field.", param=name)
            if value.strip().lower() not in _ABSENT:
                return str(value).strip()
        return None

    def text_or_json(self, name: str) -> str | None:
        """Text from a plain part or a file-like part (JSON sent with a filename)."""
        for value in self._values(name):
            if isinstance(value, UploadFile):
                value.file.seek(0)
                raw = value.file.read().decode("utf-8", errors="replace")
            else:
                raw = str(value)
            if raw.strip().lower() not in _ABSENT:
                return raw.strip()
        return None

    def file(self, name: str) -> UploadFile | None:
        """The one file part ``name``: a second one is refused, not ignored."""
        files = []
        # Audio sent without a filename is text with NULs in it: say what to
        # send rather than refuse the NUL.
        for value in self._values(name, nul_checked=False):
            if isinstance(value, UploadFile):
                files.append(value)
            elif value.strip().lower() not in _ABSENT:
                raise self.error(
                    f"{name} must be a file upload (a part with a filename, "
                    f"curl: -F {name}=@audio.wav).",
                    param=name,
                )
        if len(files) > 1:
            raise self.error(
                f"Send one {name!r} part per request; this one has {len(files)}.",
                param=name,
            )
        return files[0] if files else None

    def strings(self, name: str) -> list[str]:
        """A list from repeated parts, ``name[]`` parts, a JSON array or one string."""
        out: list[str] = []
        for value in self._values(name):
            if isinstance(value, UploadFile):
                raise self.error(f"{name} must be text.", param=name)
            raw = value.strip()
            if raw.lower() in _ABSENT:
                continue
            if raw.startswith(("[", '"')):
                try:
                    parsed = json.loads(raw)
                except json.JSONDecodeError:
                    parsed = raw
                if isinstance(parsed, list):
                    out.extend(str(p) for p in parsed if p is not None)
                    continue
                if isinstance(parsed, str):
                    out.append(parsed)
                    continue
            out.append(raw)
        if any("\x00" in item for item in out):  # a JSON "\u0000"
            raise self.error(
                f"{name} must not contain a NUL character (\\x00).", param=name
            )
        return out

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise self.error(f"{name} must be true or false, not {raw!r}.", param=name)

    def number(
        self, name: str, *, low: float | None = None, high: float | None = None
    ) -> float | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):  # "nan" and "inf" parse, and pass any bound
            raise self.error(f"{name} must be a number, not {raw!r}.", param=name)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(f"{name} must be within {low}..{high}.", param=name)
        return value

    def integer(
        self, name: str, *, low: int | None = None, high: int | None = None
    ) -> int | None:
        value = self.number(name, low=low, high=high)
        if value is None:
            return None
        if value != int(value):
            raise self.error(f"{name} must be a whole number.", param=name)
        return int(value)

    def nested(self, name: str) -> dict[str, str]:
        """``name[sub]=value`` parts as ``{sub: value}``."""
        prefix = f"{name}["
        out = {}
        for key in self.form:
            if key.startswith(prefix) and key.endswith("]") and key != f"{name}[]":
                self.read.add(key)
                value = self.form.get(key)
                if isinstance(value, str):
                    out[key[len(prefix) : -1]] = value
        return out

    def unread(self) -> list[str]:
        return sorted(set(self.form) - self.read)
