"""Idempotency keys per work order; elders' phone and ID numbers encrypted at rest

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:00:00

- ``check_ins``: the idempotency key is unique within its work order (``work_order_id``,
  ``idempotency_key``), no longer across every caregiver's orders.
- ``households.phone`` and ``households.id_number`` become TEXT holding Fernet tokens, and
  ``master_changes.contact`` TEXT holding the token of its JSON; the plain values stored so far
  are encrypted with the data key, found as the app finds it (``DISPATCH_DATA_KEY``, else the
  key file beside the database, made when absent: :mod:`api.crypto`). Downgrading decrypts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from api.crypto import DataCipher, cipher_for
from api.settings import Settings

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _cipher() -> DataCipher:
    return cipher_for(op.get_bind(), Settings.from_env().data_key)


def _rewrite(table: str, key: str, columns: Sequence[str], change: Callable[[str], str]) -> None:
    """Apply ``change`` to every non-null value of ``columns`` of ``table``."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).all()
    for row in rows:
        values = {c: change(v) for c, v in zip(columns, row[1:], strict=True) if v is not None}
        if values:
            assignments = ", ".join(f"{c} = :{c}" for c in values)
            bind.execute(
                sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"),
                {**values, "key": row[0]},
            )


def _json_text(value: object) -> str:
    # PostgreSQL's JSON comes back parsed, SQLite's as its text.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def upgrade() -> None:
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_constraint("uq_check_ins_idempotency_key", type_="unique")
        batch.create_unique_constraint(
            "uq_check_ins_work_order_idempotency_key", ["work_order_id", "idempotency_key"]
        )
    with op.batch_alter_table("households") as batch:
        batch.alter_column("phone", type_=sa.Text(), existing_type=sa.String(length=40))
        batch.alter_column("id_number", type_=sa.Text(), existing_type=sa.String(length=40))
    with op.batch_alter_table("master_changes") as batch:
        batch.alter_column(
            "contact", type_=sa.Text(), existing_type=sa.JSON(), postgresql_using="contact::text"
        )
    cipher = _cipher()
    _rewrite("households", "id", ("phone", "id_number"), cipher.encrypt)
    _rewrite(
        "master_changes",
        "id",
        ("contact",),
        lambda value: cipher.encrypt(_json_text(value)),
    )


def downgrade() -> None:
    cipher = _cipher()
    _rewrite("households", "id", ("phone", "id_number"), cipher.decrypt)
    _rewrite("master_changes", "id", ("contact",), cipher.decrypt)
    with op.batch_alter_table("master_changes") as batch:
        batch.alter_column(
            "contact", type_=sa.JSON(), existing_type=sa.Text(), postgresql_using="contact::json"
        )
    with op.batch_alter_table("households") as batch:
        batch.alter_column("phone", type_=sa.String(length=40), existing_type=sa.Text())
        batch.alter_column("id_number", type_=sa.String(length=40), existing_type=sa.Text())
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_constraint("uq_check_ins_work_order_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_check_ins_idempotency_key", ["idempotency_key"])
