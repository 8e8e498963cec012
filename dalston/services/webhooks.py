"""The ElevenLabs webhook signature (the one its SDK helpers verify):
``t=<unix seconds>,v0=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>``, made again
for each attempt. Delivery itself is durable and shared by every dialect
(``services.webhook_endpoints``)."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={stamp},v0={digest}"
