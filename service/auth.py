"""Optional credentials: API keys for inference and admin routes, an admin token for /admin/*.

Both are FastAPI security dependencies, attached to routers only when configured (see app.py), so
the OpenAPI schema declares a security scheme exactly when the server enforces one.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from service.dependencies import SettingsDep
from service.errors import Forbidden, Unauthorized

API_KEY_HEADER = "X-API-Key"
ADMIN_TOKEN_HEADER = "X-Admin-Token"

_api_key = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="APIKey", auto_error=False, description="an API key"
)
_bearer = HTTPBearer(
    scheme_name="BearerKey", auto_error=False, description="an API key as a bearer token"
)
_admin_token = APIKeyHeader(
    name=ADMIN_TOKEN_HEADER,
    scheme_name="AdminToken",
    auto_error=False,
    description="the SERVING_ADMIN_TOKEN",
)


async def require_api_key(
    settings: SettingsDep,
    api_key: Annotated[str | None, Depends(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries one of SERVING_API_KEYS (in either header)."""
    offered = api_key or (bearer.credentials if bearer else None)
    if not offered:
        raise Unauthorized(
            f"this server needs an API key: send it in {API_KEY_HEADER} or as "
            "Authorization: Bearer <key>"
        )
    if not _matches(offered, settings.api_keys or []):
        raise Unauthorized("the API key is not valid here")


async def require_admin_token(
    settings: SettingsDep, token: Annotated[str | None, Depends(_admin_token)]
) -> None:
    """403 unless the request carries SERVING_ADMIN_TOKEN in X-Admin-Token."""
    expected = [settings.admin_token] if settings.admin_token else []
    if not token or not _matches(token, expected):
        raise Forbidden(f"admin routes need the admin token in {ADMIN_TOKEN_HEADER}")


def _matches(offered: str, accepted: list[SecretStr]) -> bool:
    # compare_digest against every key: the time taken says nothing about which one nearly matched.
    found = False
    for key in accepted:
        found |= secrets.compare_digest(offered.encode(), key.get_secret_value().encode())
    return found
