"""API keys with scopes (ingest, read, admin), stored hashed."""

from __future__ import annotations

from learnloop.api.auth.keys import (
    Authenticator,
    IssuedKey,
    Principal,
    Scope,
    create_api_key,
    hash_key,
    parse_scopes,
    revoke_api_key,
)

__all__ = [
    "Authenticator",
    "IssuedKey",
    "Principal",
    "Scope",
    "create_api_key",
    "hash_key",
    "parse_scopes",
    "revoke_api_key",
]
