"""a zone butler may look after several zones

`staff_roles.zone_id` held one zone and only sorted a list; a butler's pages are now limited
to their zones (portal/core/access.py), and a butler may have more than one: the others are
rows of staff_role_zones. zone_id stays one of them.

Revision ID: a7d3c5e9f214
Revises: a7d3c1e5f9b2
Create Date: 2026-12-06 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7d3c5e9f214"
down_revision = "a7d3c1e5f9b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_role_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_role_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_role_id"],
            ["staff_roles.id"],
            name=op.f("fk_staff_role_zones_staff_role_id_staff_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_staff_role_zones_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_role_zones")),
        sa.UniqueConstraint(
            "staff_role_id", "zone_id", name=op.f("uq_staff_role_zones_staff_role_id_zone_id")
        ),
    )
    with op.batch_alter_table("staff_role_zones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_role_zones_staff_role_id"), ["staff_role_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("staff_role_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_role_zones_staff_role_id"))
    op.drop_table("staff_role_zones")
