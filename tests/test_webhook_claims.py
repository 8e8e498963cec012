"""Webhook delivery claims on PostgreSQL: several processes' delivery loops over
one database never send the same attempt twice (``FOR UPDATE SKIP LOCKED``),
and a delivery whose sender died mid-attempt is sent again after its lease."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dalston.config import Settings
from dalston.db.migrate import upgrade_to_head
from dalston.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, utcnow
from dalston.db.session import create_engine, create_session_factory
from dalston.services.webhook_endpoints import DeliveryLoop, new_secret
from tests.conftest import fresh_database
from tests.inproc.test_webhooks import Receiver


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def sessions(
    database_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_session_factory(engine)
    await engine.dispose()


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "allow_private_urls": True,
        "webhook_backoff_s": 0.05,
        "webhook_max_attempts": 3,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


async def _endpoint_with_events(
    sessions: async_sessionmaker[AsyncSession], url: str, events: int
) -> str:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    endpoint_id = str(uuid.uuid4())
    async with sessions() as db, db.begin():
        db.add(
            WebhookEndpoint(
                id=endpoint_id,
                tenant_id=tenant,
                url=url,
                events=["*"],
                secret=new_secret(),
                enabled=True,
                consecutive_failures=0,
            )
        )
        for _ in range(events):
            db.add(
                WebhookEvent(
                    id=f"evt_{uuid.uuid4().hex}",
                    tenant_id=tenant,
                    type="transcription.completed",
                    data={"transcription_id": "x", "status": "completed"},
                )
            )
    return endpoint_id


async def test_concurrent_loops_send_each_event_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    receiver = Receiver()
    try:
        await _endpoint_with_events(sessions, receiver.url, 40)
        loops = [
            DeliveryLoop(settings=_settings(), sessions=sessions) for _ in range(4)
        ]

        async def drain(loop: DeliveryLoop) -> None:
            for _ in range(30):
                await loop.run_once()

        await asyncio.gather(*(drain(loop) for loop in loops))
        ids = [headers["webhook-id"] for headers, _ in receiver.delivered()]
        assert len(ids) == 40
        assert len(set(ids)) == 40  # no event sent twice
    finally:
        receiver.httpd.shutdown()


async def test_a_dead_senders_delivery_is_sent_after_its_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    receiver = Receiver()
    try:
        endpoint_id = await _endpoint_with_events(sessions, receiver.url, 1)
        dead = DeliveryLoop(settings=_settings(), sessions=sessions)
        await dead._dispatch()
        [claimed] = await dead._claim()  # ... and the process dies here
        alive = DeliveryLoop(settings=_settings(), sessions=sessions)
        assert await alive.run_once() == 0  # leased: not sent again yet
        async with sessions() as db, db.begin():
            await db.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claimed.delivery_id)
                .values(lease_until=utcnow() - timedelta(seconds=1))
            )
        assert await alive.run_once() == 1
        async with sessions() as db:
            row = (
                await db.scalars(
                    select(WebhookDelivery).where(
                        WebhookDelivery.endpoint_id == endpoint_id
                    )
                )
            ).one()
        assert row.status == "succeeded" and row.attempts == 2
        assert len(receiver.delivered()) == 1
    finally:
        receiver.httpd.shutdown()
