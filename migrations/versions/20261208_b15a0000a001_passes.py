"""passes: goods release, visitor and worker passes, and their checks at the gate

Revision ID: b15a0000a001
Revises: 5e2c8a4f0d17
Create Date: 2026-12-08 00:01:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "b15a0000a001"
down_revision = "5e2c8a4f0d17"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
