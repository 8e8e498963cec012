"""API keys: ``dk_`` secrets stored as SHA-256 hashes, with scopes and a tenant."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dalston.db.models import ApiKey, utcnow
from dalston.errors import InvalidRequest

log = logging.getLogger(__name__)

KEY_PREFIX = "dk_"
DEFAULT_TENANT = "default"


class Scope(StrEnum):
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    REALTIME = "realtime"
    WEBHOOKS = "webhooks"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Principal:
    key_id: str | None
    tenant_id: str
    scopes: frozenset[Scope]
    # Requests per minute of this key (None: the tenant default).
    rate_limit: int | None = None
    # A gateway relaying a session to a realtime worker (its own token): the
    # gateway already counted the request and holds the session's quota slot.
    relayed: bool = False

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


def hash_key(secret: str) -> str:
    # Keys are 256-bit random secrets: a fast hash is enough, no password KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[Scope],
    tenant_id: str = DEFAULT_TENANT,
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key row and its secret; the secret is never stored. A key that
    would expire at once is refused (400): no one means to mint one."""
    if expires_at is not None:
        when = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if when <= utcnow():
            raise InvalidRequest(
                "expires_at is in the past; give a time to come (ISO 8601, UTC "
                "unless it names a zone).",
                param="expires_at",
            )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=str(uuid.uuid4()),
        name=name,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        scopes=[s.value for s in scopes],
        tenant_id=tenant_id,
        created_at=utcnow(),
        rate_limit=rate_limit,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, secret


async def lookup_key(session: AsyncSession, secret: str) -> Principal | None:
    if not secret.startswith(KEY_PREFIX):
        return None
    row = await session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None)
        )
    )
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    return Principal(
        key_id=row.id,
        tenant_id=row.tenant_id,
        scopes=frozenset(Scope(s) for s in row.scopes if s in Scope._value2member_map_),
        rate_limit=row.rate_limit,
    )


async def bootstrap_admin_key(session: AsyncSession, key_file: Path) -> str | None:
    """On first start, create an admin key, print it once, keep it in a 0600 file.

    Returns the new secret, or None when an active admin key already exists.
    """
    existing = await session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))
    if any(Scope.ADMIN.value in row.scopes for row in existing):
        return None
    _, secret = await create_api_key(session, name="admin", scopes=[Scope.ADMIN])
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    os.chmod(key_file, 0o600)
    print(
        f"\n  Dalston admin API key (shown once, also saved to {key_file}):\n"
        f"    {secret}\n",
        file=sys.stderr,
        flush=True,
    )
    return secret
