"""`x-api-key` authentication with Didit's status codes: no key 403, a wrong or revoked key
401, a key without the scope 403. Use as `dependencies=[Depends(require_scope(Scope.X))]` or
`key: ApiKey = Depends(require_scope(Scope.X))`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from sync.hub.api.context import HubCtx
from sync.hub.api.errors import ApiError
from sync.hub.api.keys import ApiKey, Scope, check_key

# declares the security scheme in the OpenAPI spec; errors are ours (auto_error=False)
_header = APIKeyHeader(name="x-api-key", auto_error=False,
                       description="The integrator's key (poh hub api-key add)")


def require_scope(scope: Scope) -> Callable[..., ApiKey]:
    def dependency(ctx: HubCtx, token: Annotated[str | None, Depends(_header)]) -> ApiKey:
        if not token:
            raise ApiError(403, "Authentication credentials were not provided.",
                           "not_authenticated")
        key = check_key(ctx.engine, token)
        if key is None:
            raise ApiError(401, "Invalid API key.", "authentication_failed")
        if not key.allows(scope):
            raise ApiError(403, "You do not have permission to perform this action.",
                           "permission_denied")
        return key
    return dependency
