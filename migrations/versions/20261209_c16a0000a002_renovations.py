"""renovations

Revision ID: c16a0000a002
Revises: c16a0000a001
Create Date: 2026-12-09 00:02:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "c16a0000a002"
down_revision = "c16a0000a001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
