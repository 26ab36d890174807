"""one return-visit table for every ticket kind; visit due times on tickets

Repairs kept their visits in `repair_visits`, complaints in three columns that a second visit
overwrote. Every visit becomes a row of `return_visits`: the repair visits as they were, the
complaint visits from the ticket history (which kept each one; a complaint whose history
lacks it gets one row from its columns). Tickets waiting for their visit get
`visit_due_at` (repairs: completion + 72 h; complaints: resolution + 48 h).

Revision ID: 7c1d5e9a2b40
Revises: d2194a523cc6
Create Date: 2026-12-01 23:40:00
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "7c1d5e9a2b40"
down_revision = "d2194a523cc6"
branch_labels = None
depends_on = None

visits = sa.table(
    "return_visits",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("ticket_id", sa.Integer),
    sa.column("estate_id", sa.Integer),
    sa.column("visited_by_id", sa.Integer),
    sa.column("visited_at", sa.DateTime),
    sa.column("channel", sa.String),
    sa.column("result", sa.String),
    sa.column("note", sa.String),
)
repair_visits = sa.table(
    "repair_visits",
    sa.column("id", sa.Integer),
    sa.column("repair_id", sa.Integer),
    sa.column("result", sa.String),
    sa.column("note", sa.String),
    sa.column("visited_by_id", sa.Integer),
    sa.column("visited_at", sa.DateTime),
)
repairs = sa.table(
    "repairs",
    sa.column("id", sa.Integer),
    sa.column("estate_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("completed_at", sa.DateTime),
    sa.column("visit_due_at", sa.DateTime),
)
complaints = sa.table(
    "complaints",
    sa.column("id", sa.Integer),
    sa.column("estate_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("owner_id", sa.Integer),
    sa.column("created_by_id", sa.Integer),
    sa.column("visited_at", sa.DateTime),
    sa.column("visit_result", sa.String),
    sa.column("dissatisfied_visits", sa.Integer),
    sa.column("visit_due_at", sa.DateTime),
)
events = sa.table(
    "ticket_events",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("ticket_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("actor_id", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("data", sa.JSON),
)


def upgrade():
    op.create_table(
        "return_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("visited_by_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("result", sa.String(length=15), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_return_visits_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["visited_by_id"], ["users.id"], name=op.f("fk_return_visits_visited_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_visits")),
    )
    with op.batch_alter_table("return_visits", schema=None) as batch_op:
        batch_op.create_index("ix_return_visits_ticket", ["kind", "ticket_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_visits_estate_id"), ["estate_id"], unique=False)
    for table in ("repairs", "complaints"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("visit_due_at", sa.DateTime(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_visit_due_at"), ["visit_due_at"])

    conn = op.get_bind()
    _move_repair_visits(conn)
    _move_complaint_visits(conn)

    op.drop_table("repair_visits")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("dissatisfied_visits")
        batch_op.drop_column("visit_result")
        batch_op.drop_column("visited_at")


def _move_repair_visits(conn):
    conn.execute(
        visits.insert().from_select(
            [
                "kind",
                "ticket_id",
                "estate_id",
                "visited_by_id",
                "visited_at",
                "channel",
                "result",
                "note",
            ],
            sa.select(
                sa.literal("repair"),
                repair_visits.c.repair_id,
                repairs.c.estate_id,
                repair_visits.c.visited_by_id,
                repair_visits.c.visited_at,
                sa.literal("phone"),
                repair_visits.c.result,
                repair_visits.c.note,
            )
            .select_from(repair_visits.join(repairs, repairs.c.id == repair_visits.c.repair_id))
            .order_by(repair_visits.c.id),
        )
    )
    visited = sa.select(visits.c.ticket_id).where(visits.c.kind == "repair")
    waiting = conn.execute(
        sa.select(repairs.c.id, repairs.c.completed_at).where(
            repairs.c.status.in_(["completed", "closed"]),
            repairs.c.completed_at.is_not(None),
            repairs.c.id.not_in(visited),
        )
    ).all()
    for repair_id, completed_at in waiting:
        conn.execute(
            repairs.update()
            .where(repairs.c.id == repair_id)
            .values(visit_due_at=completed_at + timedelta(hours=72))
        )


def _move_complaint_visits(conn):
    estate_of = dict(conn.execute(sa.select(complaints.c.id, complaints.c.estate_id)).all())
    rows = conn.execute(
        sa.select(events.c.ticket_id, events.c.actor_id, events.c.at, events.c.data)
        .where(events.c.kind == "complaint", events.c.action == "return-visit")
        .order_by(events.c.id)
    ).all()
    for ticket_id, actor_id, at, data in rows:
        data = data or {}
        if ticket_id not in estate_of or actor_id is None:
            continue
        conn.execute(
            visits.insert().values(
                kind="complaint",
                ticket_id=ticket_id,
                estate_id=estate_of[ticket_id],
                visited_by_id=actor_id,
                visited_at=at,
                channel=data.get("channel") or "phone",
                result=data.get("result") or "neutral",
                note=(data.get("note") or "")[:1000],
            )
        )
    visited = sa.select(visits.c.ticket_id).where(visits.c.kind == "complaint")
    for row in conn.execute(
        sa.select(complaints).where(
            complaints.c.visited_at.is_not(None), complaints.c.id.not_in(visited)
        )
    ).all():
        conn.execute(
            visits.insert().values(
                kind="complaint",
                ticket_id=row.id,
                estate_id=row.estate_id,
                visited_by_id=row.owner_id or row.created_by_id,
                visited_at=row.visited_at,
                channel="phone",
                result=row.visit_result or "neutral",
                note="",
            )
        )
    # Resolved and not visited since the (last) resolution: the visit is due.
    resolved = conn.execute(
        sa.select(events.c.ticket_id, sa.func.max(events.c.at))
        .where(events.c.kind == "complaint", events.c.action == "resolve")
        .group_by(events.c.ticket_id)
    ).all()
    waiting = set(
        conn.execute(
            sa.select(complaints.c.id).where(
                complaints.c.status == "resolved",
                complaints.c.visited_at.is_(None) | (complaints.c.visit_result == "dissatisfied"),
            )
        ).scalars()
    )
    for ticket_id, at in resolved:
        if ticket_id in waiting and at is not None:
            conn.execute(
                complaints.update()
                .where(complaints.c.id == ticket_id)
                .values(visit_due_at=at + timedelta(hours=48))
            )


def downgrade():
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visited_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("visit_result", sa.String(length=15), nullable=True))
        batch_op.add_column(
            sa.Column("dissatisfied_visits", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "repair_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=15), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("visited_by_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repair_id"], ["repairs.id"], name=op.f("fk_repair_visits_repair_id_repairs")
        ),
        sa.ForeignKeyConstraint(
            ["visited_by_id"], ["users.id"], name=op.f("fk_repair_visits_visited_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_visits")),
    )
    with op.batch_alter_table("repair_visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_visits_repair_id"), ["repair_id"])

    conn = op.get_bind()
    conn.execute(
        repair_visits.insert().from_select(
            ["repair_id", "result", "note", "visited_by_id", "visited_at"],
            sa.select(
                visits.c.ticket_id,
                visits.c.result,
                visits.c.note,
                visits.c.visited_by_id,
                visits.c.visited_at,
            )
            .where(visits.c.kind == "repair")
            .order_by(visits.c.id),
        )
    )
    mine = sa.and_(visits.c.kind == "complaint", visits.c.ticket_id == complaints.c.id)

    def latest(column):
        return sa.select(column).where(mine).order_by(visits.c.id.desc()).limit(1)

    conn.execute(
        complaints.update().values(
            visited_at=latest(visits.c.visited_at).scalar_subquery(),
            visit_result=latest(visits.c.result).scalar_subquery(),
            dissatisfied_visits=sa.select(sa.func.count(visits.c.id))
            .where(mine, visits.c.result == "dissatisfied")
            .scalar_subquery(),
        )
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.alter_column("dissatisfied_visits", server_default=None)
    for table in ("complaints", "repairs"):
        # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): rebuilding `repairs` would fail on SQLite
        # while rows of other tables refer to it.
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_visit_due_at"))
            batch_op.drop_column("visit_due_at")
    with op.batch_alter_table("return_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_visits_estate_id"))
        batch_op.drop_index("ix_return_visits_ticket")
    op.drop_table("return_visits")
