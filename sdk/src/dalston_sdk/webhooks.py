"""Verifying webhook deliveries (Standard Webhooks).

Each delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: space-separated ``v1,<base64>`` signatures, each an
HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of
the endpoint's ``whsec_...`` secret.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dalston_sdk.errors import WebhookVerificationError

__all__ = ["TOLERANCE_S", "sign_webhook", "verify_webhook", "webhook_dependency"]

TOLERANCE_S = 5 * 60
_PREFIX = "whsec_"


def _key(secret: str) -> bytes:
    raw = secret[len(_PREFIX) :] if secret.startswith(_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError(
            "The signing secret is not valid base64."
        ) from exc


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"Missing header {name!r}.")


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    payload = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode()


def sign_webhook(
    body: bytes | str, secret: str, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers a sender would attach (for tests of your receiver)."""
    body_bytes = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + _signature(_key(secret), msg_id, ts, body_bytes),
    }


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = TOLERANCE_S,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature and timestamp, and return its JSON payload.

    ``body`` must be the raw request body (bytes as received: re-serialised JSON
    does not verify). Raises ``WebhookVerificationError``.
    """
    body_bytes = body.encode() if isinstance(body, str) else bytes(body)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-timestamp.") from None
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError("Message timestamp too old.")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("Message timestamp too new.")
    expected = _signature(_key(secret), msg_id, timestamp, body_bytes)
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            break
    else:
        raise WebhookVerificationError("No matching signature.")
    try:
        return json.loads(body_bytes)
    except ValueError:
        raise WebhookVerificationError("The body is not JSON.") from None


def webhook_dependency(
    secret: str, *, tolerance: float = TOLERANCE_S
) -> Callable[..., Awaitable[Any]]:
    """A FastAPI dependency that verifies the request and returns the payload;
    a bad delivery gets 400. Needs ``fastapi`` (imported here, not by the SDK)::

        verified = webhook_dependency(os.environ["DALSTON_WEBHOOK_SECRET"])

        @app.post("/hooks/dalston")
        async def hook(event: dict = Depends(verified)) -> None: ...
    """
    try:
        from fastapi import HTTPException, Request
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "webhook_dependency needs FastAPI: pip install fastapi"
        ) from exc

    async def _verified(request: Request) -> Any:
        body = await request.body()
        try:
            return verify_webhook(
                body, dict(request.headers), secret, tolerance=tolerance
            )
        except WebhookVerificationError as exc:
            raise HTTPException(status_code=400, detail=exc.message) from None

    return _verified
