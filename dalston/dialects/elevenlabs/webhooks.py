"""ElevenLabs webhooks: where ``webhook=true`` results go, signed and retried.

ElevenLabs configures webhooks in its dashboard; this server has none, so:

- **Targets** are registered through the workspace API the official SDKs already
  call (``client.webhooks.create(settings={"auth_type": "hmac", "name": ...,
  "webhook_url": ...})``): ``POST /v1/workspace/webhooks`` answers
  ``{"webhook_id", "webhook_secret"}``; ``GET`` lists, ``PATCH /{id}`` changes
  ``name``, ``is_disabled``, ``retry_enabled``, ``request_headers``, ``events``;
  ``DELETE /{id}``. They belong to the caller's tenant and need the ``webhooks``
  scope. A new webhook is subscribed to the ``speech_to_text`` event.
- ``webhook=true`` with ``webhook_id`` sends to that webhook; without it, to every
  enabled webhook of the tenant subscribed to ``speech_to_text`` (as upstream:
  "sent to all configured speech-to-text webhooks"). None: 400, before any work.
- **Signature**: header ``ElevenLabs-Signature: t=<secs>,v0=<hex>`` (see
  ``services.webhooks.sign``), which ``elevenlabs.webhooks.construct_event``
  verifies. The secret is per webhook: derived as HMAC(``settings.webhook_secret``,
  webhook id) and never stored when that setting is set; otherwise random and kept
  in the registry.
- The registry is one JSON object per tenant in the artifact store
  (``elevenlabs/webhooks/<tenant hash>.json``): no migration, and it works on local
  and S3 storage. Writes are serialised within one process only.
- **Payload** (the upstream envelope is not documented, spec A.9):
  ``{"type": "speech_to_text_transcription", "event_timestamp": <unix secs>,
  "data": {"request_id", "transcription_id", "status": "completed" | "failed",
  "webhook_metadata", "transcription": <the synchronous response body> | null,
  "error": <message> | null}}``.
- **Delivery** is durable, as for ``/v1/webhooks``: the request is kept in the job
  (``dialect_webhook``; targets by id, no secrets), the orchestrator records an
  ``elevenlabs.speech_to_text`` event in the transaction that finishes the job,
  and the delivery loop of any API process (which registered ``attach``) sends
  one stored delivery per target, rendered and signed when sent, retried with
  backoff (``settings.webhook_max_attempts``, ``settings.webhook_backoff_s``;
  once when ``retry_enabled`` is false) across restarts. A target deleted or
  disabled meanwhile fails its delivery. With ``enable_logging=false`` the job is
  purged once every delivery has ended.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dalston import __version__
from dalston.config import Settings
from dalston.dialects.elevenlabs.export_options import ExportSpec
from dalston.dialects.elevenlabs.response import ResponseOptions
from dalston.dialects.elevenlabs.results import response_for
from dalston.errors import DalstonError, InvalidRequest, NotFound, ValidationFailed
from dalston.orchestrator.orchestrator import DIALECT_WEBHOOK
from dalston.runtime import Runtime
from dalston.services.url_fetch import check_public_host
from dalston.services.webhook_endpoints import Rendered
from dalston.services.webhooks import sign
from dalston.storage.base import ArtifactStore

SIGNATURE_HEADER = "ElevenLabs-Signature"
EVENT_TYPE = "speech_to_text_transcription"
STT_EVENT = "speech_to_text"
EVENTS = ("voice_library_removal_notice", "speech_to_text", "agent_qa", "flows")
_MAX_WEBHOOKS = 100
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_RESERVED_HEADERS = {"content-type", "content-length", "host", "user-agent"}


@dataclass(frozen=True)
class Target:
    webhook_id: str
    url: str
    secret: str
    headers: dict[str, str]
    retry: bool


class WebhookRegistry:
    def __init__(self, storage: ArtifactStore, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        self._lock = asyncio.Lock()

    # --- storage --------------------------------------------------------------
    def _key(self, tenant_id: str) -> str:
        digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:32]
        return f"elevenlabs/webhooks/{digest}.json"

    async def _load(self, tenant_id: str) -> list[dict[str, Any]]:
        key = self._key(tenant_id)
        if not await self.storage.exists(key):
            return []
        hooks: list[dict[str, Any]] = json.loads(await self.storage.get_bytes(key))
        return hooks

    async def _save(self, tenant_id: str, hooks: list[dict[str, Any]]) -> None:
        await self.storage.put_bytes(self._key(tenant_id), json.dumps(hooks).encode())

    def _secret(self, hook: dict[str, Any]) -> str:
        if hook.get("secret"):
            return str(hook["secret"])
        if not self.settings.webhook_secret:
            raise InvalidRequest(
                f"Webhook {hook['webhook_id']} was made with the server's "
                "webhook_secret, which is no longer set; create the webhook again."
            )
        digest = hmac.new(
            self.settings.webhook_secret.encode(),
            f"elevenlabs-webhook:{hook['webhook_id']}".encode(),
            hashlib.sha256,
        ).hexdigest()
        return f"wsec_{digest}"

    # --- the workspace API ------------------------------------------------------
    async def create(
        self, tenant_id: str, *, name: str, url: str, headers: dict[str, str]
    ) -> tuple[str, str]:
        await self._check_url(url)
        _check_headers(headers)
        webhook_id = uuid.uuid4().hex
        hook: dict[str, Any] = {
            "webhook_id": webhook_id,
            "name": name,
            "webhook_url": url,
            "created_at_unix": int(time.time()),
            "is_disabled": False,
            "retry_enabled": True,
            "request_headers": headers,
            "events": [STT_EVENT],
            "secret": None
            if self.settings.webhook_secret
            else "wsec_" + secrets.token_hex(32),
        }
        async with self._lock:
            hooks = await self._load(tenant_id)
            if len(hooks) >= _MAX_WEBHOOKS:
                raise InvalidRequest(f"A workspace holds at most {_MAX_WEBHOOKS}.")
            hooks.append(hook)
            await self._save(tenant_id, hooks)
        return webhook_id, self._secret(hook)

    async def list_public(self, tenant_id: str) -> list[dict[str, Any]]:
        return [_public(h) for h in await self._load(tenant_id)]

    async def update(
        self, tenant_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> None:
        if "request_headers" in changes:
            _check_headers(changes["request_headers"])
        events = changes.get("events")
        if events is not None and any(e not in EVENTS for e in events):
            raise ValidationFailed(
                f"events must be among {', '.join(EVENTS)}.", param="events"
            )
        async with self._lock:
            hooks = await self._load(tenant_id)
            hook = _find(hooks, webhook_id)
            hook.update({k: v for k, v in changes.items() if v is not None})
            await self._save(tenant_id, hooks)

    async def delete(self, tenant_id: str, webhook_id: str) -> None:
        async with self._lock:
            hooks = await self._load(tenant_id)
            _find(hooks, webhook_id)
            await self._save(
                tenant_id, [h for h in hooks if h["webhook_id"] != webhook_id]
            )

    # --- targets of a request -------------------------------------------------------
    async def targets(self, tenant_id: str, webhook_id: str | None) -> list[Target]:
        hooks = await self._load(tenant_id)
        if webhook_id is not None:
            chosen = [h for h in hooks if h["webhook_id"] == webhook_id]
            if not chosen:
                raise ValidationFailed(
                    f"No webhook with webhook_id {webhook_id!r}; create one with "
                    "POST /v1/workspace/webhooks.",
                    param="webhook_id",
                )
            if chosen[0]["is_disabled"]:
                raise InvalidRequest(f"Webhook {webhook_id} is disabled.")
        else:
            chosen = [
                h
                for h in hooks
                if not h["is_disabled"] and STT_EVENT in (h.get("events") or [])
            ]
            if not chosen:
                raise InvalidRequest(
                    "webhook=true, but no enabled speech_to_text webhook is "
                    "configured; create one with POST /v1/workspace/webhooks.",
                    param="webhook",
                )
        return [_target(h, self._secret(h)) for h in chosen]

    async def target(self, tenant_id: str, webhook_id: str) -> Target:
        """One webhook as it is now (a delivery reads it when it is sent)."""
        hook = _find(await self._load(tenant_id), webhook_id)
        if hook["is_disabled"]:
            raise InvalidRequest(f"Webhook {webhook_id} is disabled.")
        return _target(hook, self._secret(hook))

    async def _check_url(self, url: str) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValidationFailed(
                "webhook_url must be an http(s) URL.",
                param="webhook_url",
                loc=["body", "settings", "webhook_url"],
            )
        if not self.settings.allow_private_urls:
            await check_public_host(url, param="webhook_url")


def _target(hook: dict[str, Any], secret: str) -> Target:
    return Target(
        webhook_id=hook["webhook_id"],
        url=hook["webhook_url"],
        secret=secret,
        headers=dict(hook.get("request_headers") or {}),
        retry=bool(hook.get("retry_enabled", True)),
    )


def _find(hooks: list[dict[str, Any]], webhook_id: str) -> dict[str, Any]:
    for hook in hooks:
        if hook["webhook_id"] == webhook_id:
            return hook
    raise NotFound(f"Webhook {webhook_id} not found.")


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": hook["name"],
        "webhook_id": hook["webhook_id"],
        "webhook_url": hook["webhook_url"],
        "is_disabled": hook["is_disabled"],
        "is_auto_disabled": False,
        "created_at_unix": hook["created_at_unix"],
        "auth_type": "hmac",
        "usage": [{"usage_type": "Speech to Text"}]
        if STT_EVENT in (hook.get("events") or [])
        else [],
        "events": hook.get("events") or [],
        "retry_enabled": hook.get("retry_enabled", True),
        "most_recent_failure_error_code": None,
        "most_recent_failure_timestamp": None,
    }


def _check_headers(headers: Any) -> None:
    if not isinstance(headers, dict):
        raise ValidationFailed(
            "request_headers must be an object.", param="request_headers"
        )
    for name, value in headers.items():
        if (
            not _HEADER_NAME.match(str(name))
            or str(name).lower() in _RESERVED_HEADERS
            or str(name).lower() == SIGNATURE_HEADER.lower()
            or not isinstance(value, str)
            or any(c in value for c in "\r\n")
        ):
            raise ValidationFailed(
                f"request_headers: {name!r} is not a header this server may send.",
                param="request_headers",
            )


# --- delivery -----------------------------------------------------------------------
# The event the orchestrator records for a ``webhook=true`` job, and the delivery
# rows it fans out to (see ``services.webhook_endpoints.DialectWebhook``).
EVENT = "elevenlabs.speech_to_text"


class ElevenLabsWebhooks:
    """The registry, and the renderer of this dialect's stored deliveries."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = WebhookRegistry(runtime.storage, runtime.settings)

    @staticmethod
    def job_param(
        *,
        targets: Sequence[Target],
        request_id: str,
        metadata: Any,
        options: ResponseOptions,
        formats: Sequence[ExportSpec],
        purge: bool,
    ) -> dict[str, Any]:
        """What the job keeps of a ``webhook=true`` request (no secrets: they
        are looked up when the delivery is sent)."""
        return {
            DIALECT_WEBHOOK: {
                "type": EVENT,
                "targets": [{"id": t.webhook_id, "url": t.url} for t in targets],
                "request_id": request_id,
                "metadata": metadata,
                "options": json.loads(options.to_json()),
                "formats": [asdict(f) for f in formats],
                "purge": purge,
            }
        }

    async def render(
        self, *, tenant_id: str, job_id: str, data: dict[str, Any], target: str
    ) -> Rendered:
        hook = await self.registry.target(tenant_id, target)
        view = await self.runtime.jobs.get(tenant_id=tenant_id, job_id=job_id)
        options = ResponseOptions.from_json(json.dumps(data["options"]).encode())
        formats = [ExportSpec(**f) for f in data.get("formats") or []]
        try:
            body: dict[str, Any] | None = response_for(view, options, formats)
            error = None
        except DalstonError as exc:
            body, error = None, exc.message
        payload = {
            "type": EVENT_TYPE,
            "event_timestamp": int(time.time()),
            "data": {
                "request_id": data["request_id"],
                "transcription_id": job_id,
                "status": "completed" if error is None else "failed",
                "webhook_metadata": data.get("metadata"),
                "transcription": body,
                "error": error,
            },
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        settings = self.runtime.settings
        return Rendered(
            url=hook.url,
            body=raw,
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"dalston-webhooks/{__version__}",
                **hook.headers,
                SIGNATURE_HEADER: sign(hook.secret, raw),
            },
            max_attempts=settings.webhook_max_attempts if hook.retry else 1,
        )

    async def finished(
        self, *, tenant_id: str, job_id: str, data: dict[str, Any]
    ) -> None:
        if data.get("purge"):  # enable_logging=false: kept only until delivered
            await self.runtime.jobs.purge_once_finished(job_id)


def attach(runtime: Runtime) -> ElevenLabsWebhooks:
    """The runtime's ElevenLabs webhooks, registered with its delivery loop (the
    API process does this at start, so stored deliveries resume after a restart)."""
    hooks = runtime.webhook_delivery.dialects.get(EVENT)
    if not isinstance(hooks, ElevenLabsWebhooks) or hooks.runtime is not runtime:
        hooks = ElevenLabsWebhooks(runtime)
        runtime.webhook_delivery.dialects[EVENT] = hooks
    return hooks
