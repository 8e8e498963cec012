from dalston.auth.keys import (
    ALL_SCOPES,
    Principal,
    Scope,
    bootstrap_admin_key,
    create_api_key,
    hash_key,
    lookup_key,
)

__all__ = [
    "ALL_SCOPES",
    "Principal",
    "Scope",
    "bootstrap_admin_key",
    "create_api_key",
    "hash_key",
    "lookup_key",
]
