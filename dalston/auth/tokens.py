"""Single-use tokens: short-lived ``tk_`` secrets that stand in for an API key once,
for URLs where a header cannot be set (browser WebSockets, ElevenLabs ``?token=``)."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dalston.auth.keys import Principal, Scope, hash_key
from dalston.db.models import ApiKey, SingleUseToken, utcnow

TOKEN_PREFIX = "tk_"
DEFAULT_TTL_S = 15 * 60


async def issue_token(
    session: AsyncSession,
    *,
    principal: Principal,
    purpose: str,
    scopes: frozenset[Scope],
    ttl_s: int = DEFAULT_TTL_S,
) -> tuple[str, SingleUseToken]:
    """A token carrying at most the issuer's own scopes."""
    granted = [s for s in scopes if principal.allows(s)]
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = SingleUseToken(
        id=str(uuid.uuid4()),
        token_hash=hash_key(secret),
        purpose=purpose,
        scopes=[s.value for s in granted],
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(seconds=ttl_s),
    )
    session.add(row)
    await session.flush()
    return secret, row


async def consume_token(session: AsyncSession, secret: str) -> Principal | None:
    """The token's principal, once: a used or expired token, or one whose API key
    has been revoked since, gives None.

    One conditional ``UPDATE ... RETURNING``: of concurrent requests presenting
    the same token exactly one sees the row change, on SQLite as on PostgreSQL
    (a ``SELECT ... FOR UPDATE`` locks nothing on SQLite).
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = utcnow()
    row = (
        await session.execute(
            update(SingleUseToken)
            .where(
                SingleUseToken.token_hash == hash_key(secret),
                SingleUseToken.used_at.is_(None),
                SingleUseToken.expires_at > now,
                or_(
                    SingleUseToken.key_id.is_(None),
                    exists(
                        select(ApiKey.id).where(
                            ApiKey.id == SingleUseToken.key_id,
                            ApiKey.revoked_at.is_(None),
                            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                        )
                    ),
                ),
            )
            .values(used_at=now)
            .returning(
                SingleUseToken.key_id,
                SingleUseToken.tenant_id,
                SingleUseToken.scopes,
                SingleUseToken.purpose,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    # The issuing key's own rate limit governs its tokens' requests too.
    rate_limit = (
        await session.scalar(select(ApiKey.rate_limit).where(ApiKey.id == row.key_id))
        if row.key_id
        else None
    )
    return Principal(
        rate_limit=rate_limit,
        key_id=row.key_id,
        tenant_id=row.tenant_id,
        scopes=frozenset(Scope(s) for s in row.scopes),
        relayed=row.purpose == "realtime_worker",
    )
