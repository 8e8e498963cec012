"""Signed webhook delivery: HMAC signatures, retries with backoff, and bounded
background work that runs off the request path.

Signature scheme (the one ElevenLabs' SDK helpers verify):
``t=<unix seconds>,v0=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>``, re-signed
for each attempt. Retried: network errors, timeouts, 408, 429 and 5xx, with
exponential backoff; other answers (3xx included: redirects are not followed, so
a public URL cannot bounce a delivery into the server's own network) are final.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dalston import __version__
from dalston.errors import InvalidRequest, Unavailable
from dalston.services.url_fetch import send_pinned

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 300.0


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={stamp},v0={digest}"


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    secret: str
    signature_header: str
    headers: Mapping[str, str] = field(default_factory=dict)
    max_attempts: int = 1


class WebhookSender:
    def __init__(
        self,
        *,
        backoff_s: float,
        allow_private: bool,
        timeout_s: float = 10.0,
        max_pending: int = 256,
        max_concurrent: int = 8,
    ) -> None:
        self.backoff_s = backoff_s
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def check_capacity(self) -> None:
        if len(self._tasks) >= self.max_pending:
            raise Unavailable(
                f"{self.max_pending} webhook deliveries are already pending; "
                "try again later."
            )

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``work`` in the background, bounded by ``max_pending``."""
        try:
            self.check_capacity()
        except Unavailable:
            work.close()
            raise
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %r", task.get_name(), task.exception())

    async def deliver(self, delivery: Delivery) -> bool:
        """POST until a 2xx, a final refusal, or ``max_attempts``; True if 2xx."""
        attempts = max(delivery.max_attempts, 1)
        for attempt in range(1, attempts + 1):
            outcome = await self._attempt(delivery)
            if outcome is not None:
                return outcome
            if attempt < attempts:
                delay = min(self.backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
                await asyncio.sleep(delay)
        log.warning("webhook %s: gave up after %d attempts", delivery.url, attempts)
        return False

    async def _attempt(self, delivery: Delivery) -> bool | None:
        """True: delivered; False: refused for good; None: worth retrying.

        The URL is checked again at delivery time, and the connection pinned to
        the checked address (DNS may have changed since it was registered)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"dalston-webhooks/{__version__}",
            **delivery.headers,
            delivery.signature_header: sign(delivery.secret, delivery.body),
        }
        async with self._slots:
            try:
                async with httpx.AsyncClient(
                    timeout=self.timeout_s, follow_redirects=False
                ) as client:
                    response = await send_pinned(
                        client,
                        "POST",
                        delivery.url,
                        allow_private=self.allow_private,
                        param="webhook_url",
                        headers=headers,
                        content=delivery.body,
                    )
                    await response.aclose()
            except InvalidRequest as exc:
                log.warning("webhook %s refused: %s", delivery.url, exc.message)
                return False
            except httpx.HTTPError as exc:
                log.info("webhook %s: %s", delivery.url, type(exc).__name__)
                return None
        status = response.status_code
        if 200 <= status < 300:
            return True
        log.info("webhook %s answered HTTP %d", delivery.url, status)
        if status in (408, 429) or status >= 500:
            return None
        return False

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
