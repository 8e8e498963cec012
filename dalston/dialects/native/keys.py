"""API keys: ``/auth/keys`` (admin) and ``/auth/me``."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from dalston.auth import Principal, Scope, create_api_key
from dalston.auth.keys import DEFAULT_TENANT
from dalston.auth.tokens import issue_token
from dalston.db.models import ApiKey, utcnow
from dalston.dialects.native.schemas import (
    KeyCreate,
    KeyCreated,
    KeyInfo,
    KeyList,
    Me,
    TokenCreate,
    TokenCreated,
)
from dalston.errors import Forbidden, InvalidRequest, NotFound
from dalston.gateway.deps import AuditDep, IsAdmin, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/auth", tags=["auth"])


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        tenant_id=row.tenant_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        rate_limit=row.rate_limit,
        expires_at=row.expires_at,
    )


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
async def create_key(
    body: KeyCreate, runtime: RuntimeDep, admin: IsAdmin, audit: AuditDep
) -> KeyCreated:
    try:
        scopes = [Scope(s) for s in body.scopes]
    except ValueError:
        raise InvalidRequest(
            "Unknown scope; valid: " + ", ".join(s.value for s in Scope), param="scopes"
        ) from None
    tenant = body.tenant_id or admin.tenant_id
    if admin.tenant_id not in (DEFAULT_TENANT, tenant):
        raise Forbidden("An admin key mints keys for its own tenant only.")
    async with runtime.sessions() as session, session.begin():
        row, secret = await create_api_key(
            session,
            name=body.name,
            scopes=scopes,
            tenant_id=tenant,
            rate_limit=body.rate_limit,
            expires_at=body.expires_at,
        )
    await audit(
        "key.created",
        "api_key",
        row.id,
        {
            "name": row.name,
            "scopes": list(row.scopes),
            "tenant_id": row.tenant_id,
            "rate_limit": row.rate_limit,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
    )
    return KeyCreated(**_info(row).model_dump(), key=secret)


def _visible(admin: Principal, row: ApiKey) -> bool:
    """The operator's tenant administers every tenant; others only their own."""
    return admin.tenant_id in (DEFAULT_TENANT, row.tenant_id)


@router.get("/keys", response_model=KeyList)
async def list_keys(runtime: RuntimeDep, admin: IsAdmin) -> KeyList:
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    return KeyList(keys=[_info(r) for r in rows if _visible(admin, r)])


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(
    key_id: str, runtime: RuntimeDep, admin: IsAdmin, audit: AuditDep
) -> Response:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(ApiKey, key_id)
        if row is None or not _visible(admin, row):
            raise NotFound(f"No API key with id {key_id}.", param="key_id")
        row.revoked_at = row.revoked_at or utcnow()
        name = row.name
    await audit("key.revoked", "api_key", key_id, {"name": name})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated
)
async def create_token(
    body: TokenCreate, runtime: RuntimeDep, principal: PrincipalDep
) -> TokenCreated:
    """A single-use token for a WebSocket URL, never the API key itself."""
    try:
        scopes = frozenset(Scope(s) for s in body.scopes)
    except ValueError:
        raise InvalidRequest(
            "Unknown scope; valid: " + ", ".join(s.value for s in Scope), param="scopes"
        ) from None
    async with runtime.sessions() as session, session.begin():
        secret, row = await issue_token(
            session,
            principal=principal,
            purpose="native",
            scopes=scopes,
            ttl_s=body.ttl,
        )
    return TokenCreated(
        token=secret, expires_at=row.expires_at, scopes=list(row.scopes)
    )


@router.get("/me", response_model=Me)
async def me(principal: PrincipalDep) -> Me:
    return Me(
        key_id=principal.key_id,
        tenant_id=principal.tenant_id,
        scopes=sorted(s.value for s in principal.scopes),
    )
