"""move-ins and move-outs

Revision ID: b15a0000a003
Revises: b15a0000a002
Create Date: 2026-12-08 00:03:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "b15a0000a003"
down_revision = "b15a0000a002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
