"""History is append-only: completions become periods, an educator's district a dated history.

`completion_periods` replaces `completions`: a period (from, until, why it ended) is closed
at the time of the event that ends it instead of being deleted, so an answer "as of" a past
date stays what it was. `educator_districts` replaces `educators.district`: a move closes
the open membership and opens the next, so a report attributes each event to the district
of its time.

Existing data: each completion becomes one open period from its completion date; each
educator's district one open membership with no start ("since before anything was
recorded"), so that every answer given before this revision (MCs earned before she was
registered included) stays the same.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_PERIOD = sa.text("ended_at IS NULL")
_OPEN_MEMBERSHIP = sa.text("valid_until IS NULL")
_TARGET = ["agency_id", "target_kind", "target_id", "educator_id"]
# Each educator's district: one open membership, from before anything was recorded.
_MEMBERSHIPS = (
    "INSERT INTO educator_districts (id, educator_id, district, valid_from, valid_until,"
    " recorded_at) SELECT NEW_ID, id, district, NULL, NULL, CURRENT_TIMESTAMP"
    " FROM educators WHERE district IS NOT NULL"
)
# Each stored completion: one open period from the day it was completed.
_PERIODS = (
    "INSERT INTO completion_periods (id, agency_id, target_kind, target_id, educator_id,"
    " rule_id, completed_at, expires_at, started_at, ended_at, end_reason, end_detail,"
    " continues, evaluated_at, closed_by_run_at)"
    " SELECT NEW_ID, agency_id, target_kind, target_id, educator_id, rule_id,"
    " COALESCE(completed_at, evaluated_at), expires_at, COALESCE(completed_at, evaluated_at),"
    " NULL, NULL, NULL, FALSE, evaluated_at, NULL FROM completions"
)


def _with_new_ids(statement: str) -> str:
    """`statement` with NEW_ID as a fresh UUID per row, in the form the Uuid type stores
    on each database (PostgreSQL's uuid; 32 hex digits on SQLite). No input reaches it."""
    if op.get_bind().dialect.name == "postgresql":
        return statement.replace("NEW_ID", "gen_random_uuid()")
    return statement.replace("NEW_ID", "lower(hex(randomblob(16)))")


def upgrade() -> None:
    _districts_up()
    _periods_up()


def downgrade() -> None:
    _periods_down()
    _districts_down()


# --- district memberships --------------------------------------------------------------------


def _districts_up() -> None:
    op.create_table(
        "educator_districts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_educator_districts_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educator_districts")),
    )
    with op.batch_alter_table("educator_districts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_educator_districts_educator",
            ["educator_id", "valid_from"],
            unique=False,
            postgresql_include=["district", "valid_until"],
        )
        batch_op.create_index(
            "ix_educator_districts_district",
            ["district", "educator_id"],
            unique=False,
            postgresql_include=["valid_from", "valid_until"],
        )
        batch_op.create_index(
            "uq_educator_districts_open",
            ["educator_id"],
            unique=True,
            postgresql_where=_OPEN_MEMBERSHIP,
            sqlite_where=_OPEN_MEMBERSHIP,
        )
    op.execute(_with_new_ids(_MEMBERSHIPS))
    op.drop_index("ix_educators_agency_id_id", table_name="educators")
    op.drop_index(op.f("ix_educators_district"), table_name="educators")
    if op.get_bind().dialect.name == "sqlite":
        # Never a batch rebuild of `educators`: with foreign keys on, SQLite's DROP TABLE of
        # the old copy deletes first, and every child row (identifiers, submissions,
        # memberships) would cascade away. SQLite 3.35+ drops an unindexed column in place.
        op.execute("ALTER TABLE educators DROP COLUMN district")
    else:
        op.drop_column("educators", "district")
    op.create_index("ix_educators_agency_id_id", "educators", ["agency_id", "id"], unique=False)


def _districts_down() -> None:
    # In place (ALTER TABLE ... ADD COLUMN), never a batch rebuild: see `_districts_up`.
    op.drop_index("ix_educators_agency_id_id", table_name="educators")
    op.add_column("educators", sa.Column("district", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE educators SET district = (SELECT district FROM educator_districts"
        " WHERE educator_districts.educator_id = educators.id"
        " AND educator_districts.valid_until IS NULL)"
    )
    op.create_index(op.f("ix_educators_district"), "educators", ["district"], unique=False)
    op.create_index(
        "ix_educators_agency_id_id",
        "educators",
        ["agency_id", "id"],
        unique=False,
        postgresql_include=["district"],
    )
    with op.batch_alter_table("educator_districts", schema=None) as batch_op:
        batch_op.drop_index("uq_educator_districts_open")
        batch_op.drop_index("ix_educator_districts_district")
        batch_op.drop_index("ix_educator_districts_educator")
    op.drop_table("educator_districts")


# --- completion periods ----------------------------------------------------------------------


def _periods_up() -> None:
    op.create_table(
        "completion_periods",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("end_detail", sa.String(length=2000), nullable=True),
        sa.Column("continues", sa.Boolean(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_completion_periods_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_completion_periods_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_periods")),
    )
    with op.batch_alter_table("completion_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_completion_periods_educator_id"), ["educator_id"], unique=False
        )
        batch_op.create_index(
            "ix_completion_periods_expiring", ["agency_id", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_completion_periods_holders",
            _TARGET,
            unique=False,
            postgresql_include=["started_at", "ended_at", "expires_at", "completed_at"],
        )
        batch_op.create_index(
            "uq_completion_periods_open",
            _TARGET,
            unique=True,
            postgresql_where=_OPEN_PERIOD,
            sqlite_where=_OPEN_PERIOD,
        )
    op.execute(_with_new_ids(_PERIODS))
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.drop_index("ix_completions_expiring")
        batch_op.drop_index(batch_op.f("ix_completions_educator_id"))
    op.drop_table("completions")


def _periods_down() -> None:
    op.create_table(
        "completions",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_completions_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_completions_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*_TARGET, name=op.f("pk_completions")),
    )
    with op.batch_alter_table("completions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_completions_educator_id"), ["educator_id"], unique=False
        )
        batch_op.create_index("ix_completions_expiring", ["agency_id", "expires_at"], unique=False)
    # The old table knew only the present: the open periods. Closed ones are lost.
    op.execute(
        "INSERT INTO completions (agency_id, target_kind, target_id, educator_id, rule_id,"
        " completed_at, expires_at, evaluated_at)"
        " SELECT agency_id, target_kind, target_id, educator_id, rule_id, completed_at,"
        " expires_at, evaluated_at FROM completion_periods WHERE ended_at IS NULL"
    )
    with op.batch_alter_table("completion_periods", schema=None) as batch_op:
        batch_op.drop_index("uq_completion_periods_open")
        batch_op.drop_index("ix_completion_periods_holders")
        batch_op.drop_index("ix_completion_periods_expiring")
        batch_op.drop_index(batch_op.f("ix_completion_periods_educator_id"))
    op.drop_table("completion_periods")
