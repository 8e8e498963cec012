"""Query-parameter parsing shared by the realtime protocols."""

from __future__ import annotations

from collections.abc import Mapping

from dalston.errors import DalstonError
from dalston.gateway.stream import Close, StreamError
from dalston.runtime import Runtime

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def invalid(message: str) -> StreamError:
    return StreamError(
        "invalid_request", message, fatal=True, close=Close.INVALID_PARAMETERS
    )


def flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid(f"{name} must be true or false, not {raw!r}.")


def number(
    query: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise invalid(f"{name} must be a number, not {raw!r}.") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be within {low}..{high}.")
    return value


def retention(query: Mapping[str, str]) -> int | None:
    raw = query.get("retention")
    if raw is None or raw == "":
        return None
    try:
        days = int(raw)
    except ValueError:
        raise invalid(
            "retention must be -1 (keep), 0 (do not keep) or 1..3650 days."
        ) from None
    if days == -1:
        return None
    if not 0 <= days <= 3650:
        raise invalid("retention must be -1 (keep), 0 (do not keep) or 1..3650 days.")
    return days


def resolve_model(runtime: Runtime, requested: str | None, language: str | None) -> str:
    """The Dalston model for a stream; 'auto' picks multilingual when needed."""
    settings = runtime.settings
    model = requested or "auto"
    if model == "auto":
        model = settings.default_model
        entry = runtime.catalog.get(model)
        if language is not None and not entry.supports_language(language):
            model = settings.multilingual_model
    try:
        entry = runtime.catalog.get(model)
    except DalstonError as exc:
        raise invalid(exc.message) from None
    if entry.stage != "transcribe":
        raise invalid(f"Model {model!r} does not transcribe.")
    if not entry.supports_language(language):
        raise invalid(f"Model {model!r} does not support language {language!r}.")
    return model
