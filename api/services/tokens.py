"""API tokens: creation, lookup by bearer value, the bootstrap admin token.

Only the SHA-256 hash of a token is stored; the token itself is shown once, when created.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.models import ApiToken, CaregiverRow, utcnow
from api.services.errors import FieldProblem, InputError, NotFound

__all__ = [
    "ROLES",
    "create_token",
    "ensure_admin_token",
    "find_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

#: Roles a token can have: 调度员, 规划员, 护理员, 管理员.
ROLES: tuple[str, ...] = ("dispatcher", "planner", "caregiver", "admin")


def hash_token(token: str) -> str:
    """The hex SHA-256 of a bearer token (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_secret() -> str:
    return "dsp_" + secrets.token_urlsafe(32)


def create_token(
    session: Session, *, name: str, role: str, caregiver_id: str | None = None
) -> tuple[ApiToken, str]:
    """A new token row and its secret value (shown once); commits.

    A ``caregiver`` token needs the id of a stored caregiver; other roles take none.
    Raises :class:`InputError` naming ``body.role`` or ``body.caregiver_id``.
    """
    if role not in ROLES:
        raise InputError(
            "角色无效 / unknown role",
            [FieldProblem("body.role", f"expected one of {', '.join(ROLES)}")],
        )
    if role == "caregiver":
        if not caregiver_id:
            raise InputError(
                "护理员令牌需要护理员编号 / a caregiver token needs caregiver_id",
                [FieldProblem("body.caregiver_id", "required for role caregiver")],
            )
        if session.get(CaregiverRow, caregiver_id) is None:
            raise InputError(
                "护理员不存在 / no such caregiver",
                [FieldProblem("body.caregiver_id", f"no caregiver {caregiver_id!r}")],
            )
    elif caregiver_id is not None:
        raise InputError(
            "只有护理员令牌绑定护理员 / only caregiver tokens have caregiver_id",
            [FieldProblem("body.caregiver_id", f"not allowed for role {role}")],
        )
    secret = _new_secret()
    row = ApiToken(name=name, token_hash=hash_token(secret), role=role, caregiver_id=caregiver_id)
    session.add(row)
    session.commit()
    return row, secret


#: Every request's token look-up, built once.
_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def find_token(session: Session, token: str) -> ApiToken | None:
    """The active (not revoked) token row with this bearer value, if any."""
    row = session.scalar(_BY_HASH, {"token_hash": hash_token(token)})
    if row is None or row.revoked_at is not None:
        return None
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token row, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token (it stops working at once); commits. Raises :class:`NotFound`."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"令牌不存在 / no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


def ensure_admin_token(session: Session, configured: str | None) -> str | None:
    """Make sure an admin can log in; returns a newly generated secret, else ``None``.

    A ``configured`` token (``DISPATCH_ADMIN_TOKEN``) is registered if it is new. Without one,
    a secret is generated only when no active admin token exists, so it is shown once.
    """
    if configured:
        if find_token(session, configured) is None:
            existing = session.scalar(
                select(ApiToken).where(ApiToken.token_hash == hash_token(configured))
            )
            if existing is not None:  # revoked in the database but configured again
                existing.revoked_at = None
            else:
                session.add(
                    ApiToken(
                        name="bootstrap admin", token_hash=hash_token(configured), role="admin"
                    )
                )
            session.commit()
        return None
    active_admin = session.scalar(
        select(ApiToken.id).where(ApiToken.role == "admin", ApiToken.revoked_at.is_(None)).limit(1)
    )
    if active_admin is not None:
        return None
    secret = _new_secret()
    session.add(ApiToken(name="bootstrap admin", token_hash=hash_token(secret), role="admin"))
    session.commit()
    return secret
