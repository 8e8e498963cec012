"""Webhook endpoints and their deliveries (``/v1/webhooks``, scope ``webhooks``).

The rules (URL checks, signing, durable delivery) live in
``dalston.services.webhook_endpoints``; this module translates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from dalston.auth.keys import Principal, Scope
from dalston.db.models import WebhookDelivery, WebhookEndpoint
from dalston.gateway.deps import AuditDep, RuntimeDep, require
from dalston.services.webhook_endpoints import WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

CanManageWebhooks = Annotated[Principal, Depends(require(Scope.WEBHOOKS))]
EventName = Literal[
    "transcription.completed",
    "transcription.failed",
    "transcription.cancelled",
    "*",
]


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    events: list[EventName] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=1000)


class WebhookPatch(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[EventName] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None


class WebhookInfo(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookInfo):
    signing_secret: str


class WebhookList(BaseModel):
    webhooks: list[WebhookInfo]
    cursor: str | None
    has_more: bool


class DeliveryInfo(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryList(BaseModel):
    deliveries: list[DeliveryInfo]
    cursor: str | None
    has_more: bool


def _service(runtime: RuntimeDep) -> WebhookService:
    return runtime.webhook_endpoints


def _info(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "description": row.description,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
    }


def _delivery(row: WebhookDelivery) -> DeliveryInfo:
    return DeliveryInfo(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookCreate,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    audit: AuditDep,
) -> WebhookCreated:
    """Register a receiver; the signing secret is shown this once."""
    row = await _service(runtime).create(
        tenant_id=principal.tenant_id,
        url=body.url,
        events=list(body.events),
        description=body.description,
    )
    await audit("webhook.created", "webhook", row.id, {"url": row.url})
    return WebhookCreated(**_info(row), signing_secret=row.secret)


@router.get("", response_model=WebhookList)
async def list_webhooks(
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> WebhookList:
    rows, next_cursor, has_more = await _service(runtime).list(
        tenant_id=principal.tenant_id, limit=limit, cursor=cursor
    )
    return WebhookList(
        webhooks=[WebhookInfo(**_info(r)) for r in rows],
        cursor=next_cursor,
        has_more=has_more,
    )


@router.get("/{webhook_id}", response_model=WebhookInfo)
async def get_webhook(
    webhook_id: str, runtime: RuntimeDep, principal: CanManageWebhooks
) -> WebhookInfo:
    row = await _service(runtime).get(
        tenant_id=principal.tenant_id, endpoint_id=webhook_id
    )
    return WebhookInfo(**_info(row))


@router.patch("/{webhook_id}", response_model=WebhookInfo)
async def update_webhook(
    webhook_id: str,
    body: WebhookPatch,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    audit: AuditDep,
) -> WebhookInfo:
    """Change the URL, events or description; ``enabled: true`` re-enables."""
    changes = body.model_dump(exclude_unset=True)
    row = await _service(runtime).update(
        tenant_id=principal.tenant_id, endpoint_id=webhook_id, changes=changes
    )
    await audit("webhook.updated", "webhook", row.id, {"changed": sorted(changes)})
    return WebhookInfo(**_info(row))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: str,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    audit: AuditDep,
) -> Response:
    await _service(runtime).delete(
        tenant_id=principal.tenant_id, endpoint_id=webhook_id
    )
    await audit("webhook.deleted", "webhook", webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
async def rotate_secret(
    webhook_id: str,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    audit: AuditDep,
) -> WebhookCreated:
    """A new signing secret (shown this once); the old one stops at once."""
    row = await _service(runtime).rotate_secret(
        tenant_id=principal.tenant_id, endpoint_id=webhook_id
    )
    await audit("webhook.secret_rotated", "webhook", row.id)
    return WebhookCreated(**_info(row), signing_secret=row.secret)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    webhook_id: str,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> DeliveryList:
    rows, next_cursor, has_more = await _service(runtime).deliveries(
        tenant_id=principal.tenant_id,
        endpoint_id=webhook_id,
        limit=limit,
        cursor=cursor,
    )
    return DeliveryList(
        deliveries=[_delivery(r) for r in rows],
        cursor=next_cursor,
        has_more=has_more,
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryInfo,
)
async def retry_delivery(
    webhook_id: str,
    delivery_id: str,
    runtime: RuntimeDep,
    principal: CanManageWebhooks,
) -> DeliveryInfo:
    """Send the delivery again now, with a fresh budget of attempts."""
    row = await _service(runtime).retry(
        tenant_id=principal.tenant_id,
        endpoint_id=webhook_id,
        delivery_id=delivery_id,
    )
    return _delivery(row)
