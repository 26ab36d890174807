"""payment idempotency keys are unique per estate

Each estate's clients and counters make their own keys, so two estates may both send
`order-1`: the key is unique per (estate, key), no longer across the whole database.
Existing keys were unique everywhere and stay valid. Going back, a key that two estates
share is kept by its first payment only (the later ones lose their key, not their money).

Receipt numbers carry the estate from now on (portal/core/sequence.py); numbers already
given keep their form, so nothing is rewritten here.

Revision ID: 4b8e2f6a91c3
Revises: 7c1d5e9a2b40
Create Date: 2026-12-02 00:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "4b8e2f6a91c3"
down_revision = "7c1d5e9a2b40"
branch_labels = None
depends_on = None

payments = sa.table(
    "payments",
    sa.column("id", sa.Integer),
    sa.column("idempotency_key", sa.String),
)


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payments_idempotency_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_payments_estate_id_idempotency_key"), ["estate_id", "idempotency_key"]
        )


def downgrade():
    earlier = payments.alias("earlier")
    shared = sa.exists().where(
        earlier.c.idempotency_key == payments.c.idempotency_key, earlier.c.id < payments.c.id
    )
    op.execute(
        payments.update()
        .where(payments.c.idempotency_key.is_not(None), shared)
        .values(idempotency_key=None)
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_payments_estate_id_idempotency_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_payments_idempotency_key"), ["idempotency_key"]
        )
