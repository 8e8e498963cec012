"""Query-parameter parsing shared by the realtime protocols.

Model, language, vocabulary and retention of a stream are a
``TranscriptionRequest`` and the policy's choice, exactly as for batch jobs
(:func:`transcription`); this module only reads query values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalston.errors import InvalidRequest
from dalston.gateway.stream import Close, StreamError
from dalston.runtime import Runtime
from dalston.services import policy
from dalston.services.policy import ModelChoice
from dalston.services.request import TranscriptionRequest

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


def transcription(
    runtime: Runtime, names: Mapping[str, str] | None = None, **values: Any
) -> tuple[TranscriptionRequest, ModelChoice]:
    """A stream's request and the policy's model choice, as batch jobs get them.

    Refusals are ``InvalidRequest`` naming the protocol's field (``names``);
    each adapter sends them as its protocol's error.
    """
    request = TranscriptionRequest.build(names, **values)
    try:
        choice = policy.choose(request, runtime.settings, runtime.catalog)
    except InvalidRequest as exc:
        param = (names or {}).get(exc.param or "", exc.param)
        raise InvalidRequest(exc.message, param=param) from None
    return request, choice


def refused(exc: InvalidRequest) -> StreamError:
    """A request refusal as the shared realtime ``invalid_request`` error."""
    return invalid(exc.message)
