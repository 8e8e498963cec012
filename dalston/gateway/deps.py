"""FastAPI dependencies: the process runtime and the caller's identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from dalston.auth import ALL_SCOPES, Principal, Scope, lookup_key
from dalston.auth.keys import DEFAULT_TENANT
from dalston.auth.tokens import TOKEN_PREFIX, consume_token
from dalston.config import AuthMode
from dalston.errors import Forbidden, Unauthenticated
from dalston.runtime import Runtime
from dalston.services.audit import Actor, AuditLog


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# Browsers cannot set headers on a WebSocket: OpenAI's browser clients send the
# (ephemeral) key as a subprotocol, ``openai-insecure-api-key.<key>``.
KEY_SUBPROTOCOL = "openai-insecure-api-key."


def offered_subprotocols(conn: HTTPConnection) -> list[str]:
    raw = conn.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def presented_key(conn: HTTPConnection) -> str | None:
    """The API key from ``Authorization: Bearer``, ``xi-api-key``, or (a WebSocket
    from a browser) the ``openai-insecure-api-key.`` subprotocol."""
    auth = conn.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if header := conn.headers.get("xi-api-key"):
        return header
    for protocol in offered_subprotocols(conn):
        if protocol.startswith(KEY_SUBPROTOCOL) and len(protocol) > len(
            KEY_SUBPROTOCOL
        ):
            return protocol[len(KEY_SUBPROTOCOL) :]
    return None


async def resolve_principal(conn: HTTPConnection, runtime: Runtime) -> Principal:
    """Who is calling: the one authentication of HTTP requests and WebSockets.

    An API key (``dk_``) in ``Authorization: Bearer`` or ``xi-api-key``; or a
    single-use token (``tk_``: also OpenAI's ephemeral client secrets) in the
    same headers or in the ``token`` query parameter, consumed on first use.
    Raises ``Unauthenticated``; scopes are the caller's to check. Each
    authenticated request counts against the key's rate limit
    (``RateLimited`` past it).
    """
    principal = await _identify(conn, runtime)
    if not principal.relayed:
        await runtime.limits.check_request(principal.key_id, principal.rate_limit)
    return principal


async def _identify(conn: HTTPConnection, runtime: Runtime) -> Principal:
    if runtime.settings.auth is AuthMode.NONE:
        return Principal(key_id=None, tenant_id=DEFAULT_TENANT, scopes=ALL_SCOPES)
    secret = presented_key(conn)
    if secret and not secret.startswith(TOKEN_PREFIX):
        async with runtime.sessions() as session:
            principal = await lookup_key(session, secret)
        if principal is None:
            raise Unauthenticated("Invalid or revoked API key.")
        return principal
    token = secret or conn.query_params.get("token")
    if token:
        async with runtime.sessions() as session, session.begin():
            principal = await consume_token(session, token)
        if principal is None:
            raise Unauthenticated("Invalid, expired or already used token.")
        return principal
    raise Unauthenticated(
        "Missing API key: send 'Authorization: Bearer dk_...' or 'xi-api-key'."
    )


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    return await resolve_principal(request, runtime)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def _check(principal: PrincipalDep) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"This API key lacks the '{scope.value}' scope.")
        return principal

    return _check


async def _operator(principal: PrincipalDep) -> Principal:
    """An admin of the operator's tenant: what changes the whole server needs
    (pulling or removing models)."""
    if not principal.allows(Scope.ADMIN) or principal.tenant_id != DEFAULT_TENANT:
        raise Forbidden(
            f"This needs an API key with the '{Scope.ADMIN.value}' scope of the "
            f"server's own tenant ('{DEFAULT_TENANT}')."
        )
    return principal


class Audit:
    """The audit log, bound to the caller of this request (``AuditDep``)."""

    def __init__(self, log: AuditLog, actor: Actor) -> None:
        self.log, self.actor = log, actor

    async def __call__(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self.log.record(self.actor, action, resource_type, resource_id, detail)


def actor_of(conn: HTTPConnection, principal: Principal) -> Actor:
    return Actor(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        ip_address=conn.client.host if conn.client else None,
        user_agent=conn.headers.get("user-agent"),
    )


async def get_audit(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> Audit:
    return Audit(runtime.audit, actor_of(request, principal))


AuditDep = Annotated[Audit, Depends(get_audit)]
CanRead = Annotated[Principal, Depends(require(Scope.JOBS_READ))]
CanWrite = Annotated[Principal, Depends(require(Scope.JOBS_WRITE))]
IsAdmin = Annotated[Principal, Depends(require(Scope.ADMIN))]
IsOperator = Annotated[Principal, Depends(_operator)]


# ``Idempotency-Key`` on the routes that create jobs: a retried request with the
# same key gets the job the first one made (see ``JobService.submit``).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (1-255 visible characters): a retry with "
        "the same key and request returns the same job instead of a new one.",
    ),
]
