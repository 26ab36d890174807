"""repairs and complaints keep the one-time key they were created with

A double tap on a slow network, or an API call retried, sends the same create twice: the
second answers with the first record (portal/core/idempotency.py). Each ticket keeps the
client's key (under the sending user's id) and a fingerprint of the values it was made from;
keys are unique per estate, like the payments'. Existing tickets have no key.

Revision ID: 5d1f0c8e7a62
Revises: c3a9e1f27b54
Create Date: 2026-12-04 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5d1f0c8e7a62"
down_revision = "c3a9e1f27b54"
branch_labels = None
depends_on = None

TABLES = ("repairs", "complaints")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
            batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_estate_id_idempotency_key"),
                ["estate_id", "idempotency_key"],
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_estate_id_idempotency_key", type_="unique")
            batch_op.drop_column("request_hash")
            batch_op.drop_column("idempotency_key")
