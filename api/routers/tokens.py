"""API tokens (admin only): create, list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, require_roles
from api.deps import IdPath, SessionDep
from api.models import ApiToken
from api.schemas import TokenCreate, TokenCreated, TokenPublic
from api.services import tokens

__all__ = ["router"]

router = APIRouter(prefix="/tokens", tags=["auth"])
Admin = Annotated[Principal, Depends(require_roles())]


def _public(row: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        role=row.role,
        caregiver_id=row.caregiver_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(session: SessionDep, _who: Admin, body: TokenCreate) -> TokenCreated:
    """A new token; the answer's ``token`` is the only time the secret is shown."""
    row, secret = tokens.create_token(
        session, name=body.name, role=body.role, caregiver_id=body.caregiver_id
    )
    return TokenCreated(**_public(row).model_dump(), token=secret)


@router.get("", response_model=list[TokenPublic])
def list_tokens(session: SessionDep, _who: Admin) -> list[TokenPublic]:
    """Every token (without secrets)."""
    return [_public(row) for row in tokens.list_tokens(session)]


@router.delete("/{token_id}", response_model=TokenPublic)
def revoke_token(session: SessionDep, _who: Admin, token_id: IdPath) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    return _public(tokens.revoke_token(session, token_id))
