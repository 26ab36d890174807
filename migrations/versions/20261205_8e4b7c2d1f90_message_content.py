"""in-app messages keep their parts, to be read in the reader's language

An inbox message was written once, in the recipient's language at sending; a resident who
switches to English still read Chinese. The outbox and the inbox now keep the message's
parts (msgids and parameters, portal/notify/content.py) beside the text, which stays as
what SMS and e-mail send and what rows without parts (all rows before this) show.

Revision ID: 8e4b7c2d1f90
Revises: 5d1f0c8e7a62
Create Date: 2026-12-05 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "8e4b7c2d1f90"
down_revision = "5d1f0c8e7a62"
branch_labels = None
depends_on = None

TABLES = ("outbox", "inbox_messages")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("content")
