"""deposits held for a unit and their refunds

Revision ID: c16a0000a001
Revises: b15a0000a003
Create Date: 2026-12-09 00:01:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "c16a0000a001"
down_revision = "b15a0000a003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
