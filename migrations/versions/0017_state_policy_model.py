"""The state policy model: the state's own purposes, LEAs and the renewal (or other) options
they choose, criteria other than MCs and the agency's records of them, hold harmless for
lattice roles, vetting requests with rubric reviews and an audit trail, and the providers an
agency approved (its issuer registry). Every table is new; agencies gain a vetting rubric.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_criteria",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_agency_criteria_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_criteria")),
        sa.UniqueConstraint("agency_id", "key", name=op.f("uq_agency_criteria_agency_id")),
    )
    op.create_table(
        "agency_purposes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_agency_purposes_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_purposes")),
        sa.UniqueConstraint("agency_id", "key", name=op.f("uq_agency_purposes_agency_id")),
    )
    op.create_table(
        "approved_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("issuer_iri", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_approved_providers_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approved_providers")),
    )
    with op.batch_alter_table("approved_providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approved_providers_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index("ix_approved_providers_issuer", ["issuer_iri"], unique=False)

    op.create_table(
        "districts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_districts_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("agency_id", "code", name=op.f("uq_districts_agency_id")),
    )
    op.create_table(
        "policy_options",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("stack_lineage_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_policy_options_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_options")),
        sa.UniqueConstraint(
            "agency_id", "purpose", "key", name=op.f("uq_policy_options_agency_id")
        ),
    )
    op.create_table(
        "district_option_choices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("option_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_district_option_choices_district_id_districts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["policy_options.id"],
            name=op.f("fk_district_option_choices_option_id_policy_options"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_option_choices")),
    )
    with op.batch_alter_table("district_option_choices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_district_option_choices_lookup",
            ["district_id", "purpose", "valid_from"],
            unique=False,
        )
        batch_op.create_index(
            "uq_district_option_choices_open",
            ["district_id", "purpose"],
            unique=True,
            postgresql_where=sa.text("valid_until IS NULL"),
            sqlite_where=sa.text("valid_until IS NULL"),
        )

    op.create_table(
        "educator_criteria",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("criterion_id", sa.Uuid(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evidence_url", sa.String(length=2000), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_educator_criteria_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["agency_criteria.id"],
            name=op.f("fk_educator_criteria_criterion_id_agency_criteria"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_educator_criteria_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educator_criteria")),
    )
    with op.batch_alter_table("educator_criteria", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_educator_criteria_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            "ix_educator_criteria_educator", ["educator_id", "criterion_id"], unique=False
        )

    op.create_table(
        "vetting_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("achievement_iri", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("provider", sa.String(length=500), nullable=True),
        sa.Column("issuer_iri", sa.String(length=2000), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("requested_by_kind", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_vetting_requests_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_vetting_requests_approval_id_approvals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetting_requests")),
    )
    with op.batch_alter_table("vetting_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vetting_requests_queue", ["agency_id", "state", "created_at"], unique=False
        )

    op.create_table(
        "role_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("educator_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_role_holds_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["educator_id"],
            ["educators.id"],
            name=op.f("fk_role_holds_educator_id_educators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["lattice_roles.id"],
            name=op.f("fk_role_holds_role_id_lattice_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_holds")),
    )
    with op.batch_alter_table("role_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_holds_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index("ix_role_holds_educator", ["educator_id", "role_id"], unique=False)

    op.create_table(
        "vetting_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["vetting_requests.id"],
            name=op.f("fk_vetting_events_request_id_vetting_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetting_events")),
    )
    with op.batch_alter_table("vetting_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vetting_events_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "vetting_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("recommendation", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["vetting_requests.id"],
            name=op.f("fk_vetting_reviews_request_id_vetting_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetting_reviews")),
    )
    with op.batch_alter_table("vetting_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vetting_reviews_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vetting_rubric", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("vetting_rubric")

    with op.batch_alter_table("vetting_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vetting_reviews_request_id"))

    op.drop_table("vetting_reviews")
    with op.batch_alter_table("vetting_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vetting_events_request_id"))

    op.drop_table("vetting_events")
    with op.batch_alter_table("role_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_role_holds_educator")
        batch_op.drop_index(batch_op.f("ix_role_holds_agency_id"))

    op.drop_table("role_holds")
    with op.batch_alter_table("vetting_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_vetting_requests_queue")

    op.drop_table("vetting_requests")
    with op.batch_alter_table("educator_criteria", schema=None) as batch_op:
        batch_op.drop_index("ix_educator_criteria_educator")
        batch_op.drop_index(batch_op.f("ix_educator_criteria_agency_id"))

    op.drop_table("educator_criteria")
    with op.batch_alter_table("district_option_choices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_district_option_choices_open",
            postgresql_where=sa.text("valid_until IS NULL"),
            sqlite_where=sa.text("valid_until IS NULL"),
        )
        batch_op.drop_index("ix_district_option_choices_lookup")

    op.drop_table("district_option_choices")
    op.drop_table("policy_options")
    op.drop_table("districts")
    with op.batch_alter_table("approved_providers", schema=None) as batch_op:
        batch_op.drop_index("ix_approved_providers_issuer")
        batch_op.drop_index(batch_op.f("ix_approved_providers_agency_id"))

    op.drop_table("approved_providers")
    op.drop_table("agency_purposes")
    op.drop_table("agency_criteria")
