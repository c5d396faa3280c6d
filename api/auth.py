"""Bearer-token authentication and role checks.

Every route except ``/health`` needs ``Authorization: Bearer <token>``. Roles: ``dispatcher``
(调度员), ``planner`` (规划员), ``caregiver`` (护理员, bound to one caregiver id) and ``admin``
(管理员, allowed everything). Missing or unknown tokens answer 401, a wrong role 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.services.tokens import find_token

__all__ = ["Principal", "PrincipalDep", "authenticate", "bearer_scheme", "require_roles"]

bearer_scheme = HTTPBearer(auto_error=False, description="API token: Authorization: Bearer <token>")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name, role and (caregivers) caregiver id."""

    token_id: int
    name: str
    role: str
    caregiver_id: str | None = None

    def is_caregiver(self) -> bool:
        """True for a caregiver token (it may only touch its own caregiver's data)."""
        return self.role == "caregiver"

    def may_see_caregiver(self, caregiver_id: str | None) -> bool:
        """False when a caregiver token asks about another caregiver."""
        return not self.is_caregiver() or caregiver_id == self.caregiver_id


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller of this request; raises 401 when the token is missing or unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            401,
            "需要令牌 / missing bearer token (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    database = request.app.state.database
    with database.session() as session:
        row = find_token(session, credentials.credentials)
        if row is None:
            raise HTTPException(
                401, "令牌无效 / invalid or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return Principal(
            token_id=row.id, name=row.name, role=row.role, caregiver_id=row.caregiver_id
        )


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets ``roles`` (and always ``admin``) through, else answers 403."""
    allowed = {*roles, "admin"}

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                403,
                f"无权限 / role {principal.role} may not do this "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        return principal

    return check
