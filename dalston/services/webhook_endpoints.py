"""Durable webhooks (``/v1/webhooks``): endpoints, and deliveries stored as rows.

A finished job writes a ``WebhookEvent`` in the transaction that finishes it
(the orchestrator's outbox). Every API or orchestrator process runs
``DeliveryLoop``: it fans events out into ``WebhookDelivery`` rows (one per
subscribed endpoint, and one for a job's own ``webhook_url``), claims the ones
due (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a lease, so two processes
never send the same attempt and one whose sender died is sent again), and
sends them signed the Standard Webhooks way. A delivery is retried with
exponential backoff up to ``WEBHOOK_MAX_ATTEMPTS``; an endpoint whose last
``WEBHOOK_DISABLE_AFTER`` deliveries all failed is disabled, with the reason.
The URL passes the SSRF guard when registered and again at every attempt.

A dialect whose webhooks have their own body and signature (ElevenLabs'
``webhook=true``) registers a ``DialectWebhook`` for its event type: its events
go only to the targets the request named, and the body is built and signed by
the dialect when sent. Only processes that registered it (the API processes)
claim those rows. ``cleanup`` removes finished rows past their retention.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from dalston import __version__, telemetry
from dalston.config import Settings
from dalston.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, utcnow
from dalston.errors import DalstonError, InvalidRequest, NotFound
from dalston.services.jobs import decode_cursor, encode_cursor
from dalston.services.url_fetch import pin, send_pinned

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "transcription.completed",
    "transcription.failed",
    "transcription.cancelled",
)
ALL_EVENTS = "*"
_MAX_BACKOFF_S = 3600.0
_BATCH = 16


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def as_whsec(secret: str) -> str:
    """``WEBHOOK_SECRET`` as a Standard Webhooks secret (any string is accepted:
    one without the ``whsec_`` prefix is used as the raw key)."""
    if secret.startswith("whsec_"):
        return secret
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def event_body(event: WebhookEvent) -> bytes:
    return json.dumps(
        {
            "object": "event",
            "id": event.id,
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()


def signed_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    now = utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
    }


def _check_events(events: list[str]) -> list[str]:
    if not events:
        raise InvalidRequest("Give at least one event.", param="events")
    for name in events:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise InvalidRequest(
                f"Unknown event {name!r}: one of {', '.join(EVENT_TYPES)} or '*'.",
                param="events",
            )
    return list(dict.fromkeys(events))


@dataclass
class WebhookService:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    async def check_url(self, url: str, param: str = "url") -> None:
        if len(url) > 2000:
            raise InvalidRequest("The URL is too long.", param=param)
        await pin(url, allow_private=self.settings.allow_private_urls, param=param)

    async def create(
        self,
        *,
        tenant_id: str,
        url: str,
        events: list[str],
        description: str | None,
    ) -> WebhookEndpoint:
        await self.check_url(url)
        row = WebhookEndpoint(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            url=url,
            events=_check_events(events),
            description=description,
            secret=new_secret(),
            enabled=True,
            consecutive_failures=0,
            created_at=utcnow(),
        )
        async with self.sessions() as db, db.begin():
            db.add(row)
        return row

    async def list(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[WebhookEndpoint], str | None, bool]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    WebhookEndpoint.created_at < created,
                    and_(
                        WebhookEndpoint.created_at == created,
                        WebhookEndpoint.id < last_id,
                    ),
                )
            )
        query = query.order_by(
            WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()
        ).limit(limit + 1)
        async with self.sessions() as db:
            rows = list((await db.scalars(query)).all())
        return _page(rows, limit)

    async def get(self, *, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        async with self.sessions() as db:
            return await _endpoint(db, tenant_id, endpoint_id)

    async def update(
        self, *, tenant_id: str, endpoint_id: str, changes: dict[str, Any]
    ) -> WebhookEndpoint:
        if changes.get("url") is not None:
            await self.check_url(changes["url"])
        async with self.sessions() as db, db.begin():
            row = await _endpoint(db, tenant_id, endpoint_id)
            if changes.get("url") is not None:
                row.url = changes["url"]
            if changes.get("events") is not None:
                row.events = _check_events(changes["events"])
            if "description" in changes:
                row.description = changes["description"]
            if changes.get("enabled") is not None:
                row.enabled = bool(changes["enabled"])
                if row.enabled:
                    row.disabled_reason = None
                    row.consecutive_failures = 0
                else:
                    row.disabled_reason = "disabled by the client"
        return row

    async def delete(self, *, tenant_id: str, endpoint_id: str) -> None:
        async with self.sessions() as db, db.begin():
            row = await _endpoint(db, tenant_id, endpoint_id)
            await db.delete(row)

    async def rotate_secret(
        self, *, tenant_id: str, endpoint_id: str
    ) -> WebhookEndpoint:
        async with self.sessions() as db, db.begin():
            row = await _endpoint(db, tenant_id, endpoint_id)
            row.secret = new_secret()
        return row

    async def deliveries(
        self, *, tenant_id: str, endpoint_id: str, limit: int, cursor: str | None
    ) -> tuple[builtins.list[WebhookDelivery], str | None, bool]:
        query = select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.tenant_id == tenant_id,
        )
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    WebhookDelivery.created_at < created,
                    and_(
                        WebhookDelivery.created_at == created,
                        WebhookDelivery.id < last_id,
                    ),
                )
            )
        query = query.order_by(
            WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()
        ).limit(limit + 1)
        async with self.sessions() as db:
            await _endpoint(db, tenant_id, endpoint_id)
            rows = list((await db.scalars(query)).all())
        return _page(rows, limit)

    async def retry(
        self, *, tenant_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDelivery:
        """Send a delivery again now, with a fresh budget of attempts."""
        async with self.sessions() as db, db.begin():
            await _endpoint(db, tenant_id, endpoint_id)
            row = await db.get(WebhookDelivery, delivery_id)
            if row is None or row.endpoint_id != endpoint_id:
                raise NotFound(f"No delivery {delivery_id}.")
            row.status = "pending"
            row.attempts = 0
            row.next_attempt_at = utcnow()
            row.lease_until = None
        return row


def _page(rows: list[Any], limit: int) -> tuple[list[Any], str | None, bool]:
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    cursor = encode_cursor(last.created_at, last.id) if has_more and last else None
    return rows, cursor, has_more


async def _endpoint(
    db: AsyncSession, tenant_id: str, endpoint_id: str
) -> WebhookEndpoint:
    row = await db.get(WebhookEndpoint, endpoint_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"No webhook {endpoint_id}.")
    return row


@dataclass(frozen=True)
class Rendered:
    """A dialect's delivery, ready to send: its body and every header (the
    signature included), and how many attempts it gets."""

    url: str
    body: bytes
    headers: dict[str, str]
    max_attempts: int


class DialectWebhook(Protocol):
    """Builds and signs the deliveries of one dialect's event type.

    ``render`` raises ``DalstonError`` when the delivery can never be made (the
    target or the job is gone): the row fails at once. ``finished`` runs once
    every delivery of an event has ended, whatever came of it."""

    async def render(
        self, *, tenant_id: str, job_id: str, data: dict[str, Any], target: str
    ) -> Rendered: ...

    async def finished(
        self, *, tenant_id: str, job_id: str, data: dict[str, Any]
    ) -> None: ...


@dataclass
class _Claimed:
    delivery_id: str
    url: str
    secret: str | None
    body: bytes
    event_id: str
    lease_until: datetime
    # A dialect's delivery: rendered when sent.
    event_type: str = ""
    tenant_id: str = ""
    job_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    target: str | None = None


async def post(
    rendered: Rendered, *, allow_private: bool, timeout_s: float
) -> tuple[bool | None, int | None, str | None]:
    """Send one attempt, to the address the URL's name was checked to have (DNS
    may have changed since it was registered); redirects are not followed.

    (True: delivered | False: refused for good | None: retry, status, error)."""
    try:
        async with httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False
        ) as client:
            response = await send_pinned(
                client,
                "POST",
                rendered.url,
                allow_private=allow_private,
                param="url",
                headers=rendered.headers,
                content=rendered.body,
            )
            await response.aclose()
    except InvalidRequest as exc:
        return False, None, exc.message
    except httpx.HTTPError as exc:
        return None, None, f"{type(exc).__name__}: {exc}"[:500]
    status = response.status_code
    if 200 <= status < 300:
        return True, status, None
    if status in (408, 429) or status >= 500:
        return None, status, f"HTTP {status}"
    return False, status, f"HTTP {status}"


@dataclass
class DeliveryLoop:
    """One pass of durable delivery (``run_once``); the runtime calls it in a loop."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    timeout_s: float = 10.0
    # Event type -> the dialect that renders it (registered by the API process).
    dialects: dict[str, DialectWebhook] = field(default_factory=dict)

    def _types(self) -> list[str]:
        return [*EVENT_TYPES, *self.dialects]

    # Sends under way (``start_due``), at most _BATCH: each its own task, so a
    # receiver that hangs until the timeout delays no other delivery.
    _sending: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    async def run_once(self) -> int:
        """Fan out new events, then send what is due and wait for those sends;
        how many were sent."""
        started = await self.start_due()
        await self.drain()
        return started

    async def start_due(self) -> int:
        """Fan out new events, then start sending what is due (side by side, up
        to _BATCH under way); how many sends were started. The runtime's loop
        calls it again without waiting for them, so a slow or hung receiver holds
        only its own deliveries."""
        await self._dispatch()
        room = _BATCH - len(self._sending)
        if room <= 0:
            return 0
        claimed = await self._claim(room)
        for item in claimed:
            task = asyncio.create_task(self._send(item))
            self._sending.add(task)
            task.add_done_callback(self._sent)
        return len(claimed)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("webhook delivery failed: %r", task.exception())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the sends under way (at most ``timeout`` seconds; those still
        running are cancelled then and, leased, sent again after the lease)."""
        if not self._sending:
            return
        _, pending = await asyncio.wait(set(self._sending), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def release_leases(self) -> int:
        """Free every pending delivery's lease; how many. Only for a process
        that knows no other one sends (the embedded server, holding its data
        directory's lock): leases left by its crashed predecessor would hold
        those deliveries back until they ran out (``webhook_lease_s``)."""
        async with self.sessions() as db, db.begin():
            freed = await db.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.lease_until.is_not(None),
                )
                .values(lease_until=None)
            )
        return int(getattr(freed, "rowcount", 0) or 0)

    async def cleanup(self, older_than: datetime) -> int:
        """Remove ended deliveries created before ``older_than``, and events
        dispatched before it that no pending delivery needs; how many rows."""
        async with self.sessions() as db, db.begin():
            gone = await db.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status != "pending",
                    WebhookDelivery.created_at < older_than,
                )
            )
            events = await db.execute(
                delete(WebhookEvent).where(
                    WebhookEvent.dispatched_at < older_than,
                    ~exists().where(WebhookDelivery.event_id == WebhookEvent.id),
                )
            )
        return int(getattr(gone, "rowcount", 0) or 0) + int(
            getattr(events, "rowcount", 0) or 0
        )

    async def _dispatch(self) -> None:
        async with self.sessions() as db, db.begin():
            events = list(
                (
                    await db.scalars(
                        select(WebhookEvent)
                        .where(
                            WebhookEvent.dispatched_at.is_(None),
                            WebhookEvent.type.in_(self._types()),
                        )
                        .order_by(WebhookEvent.created_at)
                        .limit(_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            now = utcnow()
            for event in events:
                if event.type in self.dialects:
                    for target in event.data.get("targets") or []:
                        db.add(
                            WebhookDelivery(
                                id=str(uuid.uuid4()),
                                tenant_id=event.tenant_id,
                                event_id=event.id,
                                event_type=event.type,
                                endpoint_id=None,
                                target=str(target["id"]),
                                url=str(target.get("url") or ""),
                                status="pending",
                                attempts=0,
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                    event.dispatched_at = now
                    continue
                endpoints = (
                    await db.scalars(
                        select(WebhookEndpoint).where(
                            WebhookEndpoint.tenant_id == event.tenant_id,
                            WebhookEndpoint.enabled.is_(True),
                        )
                    )
                ).all()
                targets: list[tuple[str | None, str]] = [
                    (e.id, e.url)
                    for e in endpoints
                    if ALL_EVENTS in e.events or event.type in e.events
                ]
                if event.target_url:
                    targets.append((None, event.target_url))
                for endpoint_id, url in targets:
                    db.add(
                        WebhookDelivery(
                            id=str(uuid.uuid4()),
                            tenant_id=event.tenant_id,
                            event_id=event.id,
                            event_type=event.type,
                            endpoint_id=endpoint_id,
                            url=url,
                            status="pending",
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                event.dispatched_at = now

    async def _claim(self, limit: int = _BATCH) -> list[_Claimed]:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_lease_s)
        claimed: list[_Claimed] = []
        async with self.sessions() as db, db.begin():
            rows = (
                await db.scalars(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.event_type.in_(self._types()),
                        WebhookDelivery.next_attempt_at <= now,
                        or_(
                            WebhookDelivery.lease_until.is_(None),
                            WebhookDelivery.lease_until < now,
                        ),
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                event = await db.get(WebhookEvent, row.event_id)
                secret: str | None = None
                if event is not None and row.target is not None:
                    row.attempts += 1
                    row.lease_until = lease
                    claimed.append(
                        _Claimed(
                            delivery_id=row.id,
                            url=row.url,
                            secret=None,
                            body=b"",
                            event_id=event.id,
                            lease_until=lease,
                            event_type=event.type,
                            tenant_id=event.tenant_id,
                            job_id=event.job_id or "",
                            data=dict(event.data),
                            target=row.target,
                        )
                    )
                    continue
                if row.endpoint_id is not None:
                    endpoint = await db.get(WebhookEndpoint, row.endpoint_id)
                    if endpoint is None or not endpoint.enabled:
                        row.status = "failed"
                        row.last_error = "the endpoint is deleted or disabled"
                        row.next_attempt_at = None
                        continue
                    secret = endpoint.secret
                    row.url = endpoint.url
                elif self.settings.webhook_secret:
                    secret = as_whsec(self.settings.webhook_secret)
                if event is None:
                    row.status = "failed"
                    row.last_error = "the event is gone"
                    row.next_attempt_at = None
                    continue
                row.attempts += 1
                row.lease_until = lease
                claimed.append(
                    _Claimed(
                        delivery_id=row.id,
                        url=row.url,
                        secret=secret,
                        body=event_body(event),
                        event_id=event.id,
                        lease_until=lease,
                    )
                )
        return claimed

    async def _render(self, item: _Claimed) -> tuple[Rendered | None, str | None]:
        """The request to send (None and why when there is none to send)."""
        dialect = self.dialects.get(item.event_type)
        if item.target is None or dialect is None:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"dalston-webhooks/{__version__}",
            }
            if item.secret:
                headers.update(signed_headers(item.secret, item.event_id, item.body))
            attempts = self.settings.webhook_max_attempts
            return Rendered(item.url, item.body, headers, attempts), None
        try:
            return (
                await dialect.render(
                    tenant_id=item.tenant_id,
                    job_id=item.job_id,
                    data=item.data,
                    target=item.target,
                ),
                None,
            )
        except DalstonError as exc:
            return None, exc.message

    async def _send(self, item: _Claimed) -> None:
        rendered, refusal = await self._render(item)
        outcome: bool | None
        if rendered is None:
            outcome, status, error = False, None, refusal
            max_attempts = 1
        else:
            outcome, status, error = await post(
                rendered,
                allow_private=self.settings.allow_private_urls,
                timeout_s=self.timeout_s,
            )
            max_attempts = rendered.max_attempts
        # Every attempt, by what came of it (dalston_webhook_deliveries_total).
        telemetry.record_webhook_delivery(
            "succeeded" if outcome else "failed" if outcome is False else "retried"
        )
        async with self.sessions() as db, db.begin():
            row = await db.get(WebhookDelivery, item.delivery_id, with_for_update=True)
            if row is None or row.status != "pending" or row.lease_until is None:
                return
            # Another process took it over after our lease ran out: its result wins.
            if row.lease_until != item.lease_until:
                return
            if rendered is not None:
                row.url = rendered.url
            row.last_status_code = status
            row.last_error = error
            row.lease_until = None
            if outcome is None and row.attempts < max_attempts:
                delay = min(
                    self.settings.webhook_backoff_s * 2 ** (row.attempts - 1),
                    _MAX_BACKOFF_S,
                )
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                return
            row.status = "succeeded" if outcome else "failed"
            row.next_attempt_at = None
            if row.endpoint_id is not None:
                await self._count(db, row.endpoint_id, bool(outcome), error)
            event_over = False
            if item.target is not None:
                # The event's row is the lock deliveries ending side by side take,
                # so exactly one of them sees that none is left pending.
                await db.get(WebhookEvent, item.event_id, with_for_update=True)
                event_over = not await db.scalar(
                    select(
                        exists().where(
                            WebhookDelivery.event_id == item.event_id,
                            WebhookDelivery.status == "pending",
                            WebhookDelivery.id != item.delivery_id,
                        )
                    )
                )
        dialect = self.dialects.get(item.event_type)
        if event_over and dialect is not None:
            await dialect.finished(
                tenant_id=item.tenant_id, job_id=item.job_id, data=item.data
            )

    async def _count(
        self, db: AsyncSession, endpoint_id: str, ok: bool, error: str | None
    ) -> None:
        endpoint = await db.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        if endpoint is None:
            return
        if ok:
            endpoint.consecutive_failures = 0
            return
        endpoint.consecutive_failures += 1
        limit = self.settings.webhook_disable_after
        if endpoint.enabled and endpoint.consecutive_failures >= limit:
            endpoint.enabled = False
            endpoint.disabled_reason = (
                f"disabled after {limit} consecutive failed deliveries "
                f"(last: {error or 'refused'})"
            )
            log.warning("webhook %s disabled: %s", endpoint_id, error)
