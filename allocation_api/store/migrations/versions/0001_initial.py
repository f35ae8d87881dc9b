"""Initial schema: allocations, their append-only history and the other owned data.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written, and frozen once released: it deliberately repeats the value
lists instead of importing `store.enums`, so later code changes cannot alter
what this revision does. Constraint names are part of the store's contract:
`StoreConstraintViolation.constraint` carries them to the resolvers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = (
    "ALLOCATE_PRIMARY_POM",
    "REALLOCATE_PRIMARY_POM",
    "ALLOCATE_SECONDARY_POM",
    "REALLOCATE_SECONDARY_POM",
    "DEALLOCATE_PRIMARY_POM",
    "DEALLOCATE_SECONDARY_POM",
    "DEALLOCATE_RELEASED_OFFENDER",
)
TRIGGERS = (
    "USER",
    "OFFENDER_TRANSFERRED",
    "OFFENDER_RELEASED",
    "MANUAL_CHANGE",
    "LEGAL_STATUS_CHANGED",
    "INACTIVE_POM",
)
TIERS = ("A", "B", "C", "D")
POM_TYPES = ("PRISON", "PROBATION")
OVERRIDE_REASONS = ("SUITABILITY", "NO_STAFF", "CONTINUITY", "OTHER")
PROBATION_SERVICES = ("ENGLAND", "WALES")
POM_STATUSES = ("ACTIVE", "UNAVAILABLE", "INACTIVE")
RESPONSIBILITIES = ("PRISON", "PROBATION")
RESPONSIBILITY_REASONS = (
    "LESS_THAN_10_MONTHS_TO_SERVE",
    "COMMUNITY_TEAM_TO_WORK_WITH_OFFENDER",
    "PRISONER_RECALLED",
    "MOVED_TO_OPEN_PRISON",
    "OTHER",
)
EARLY_ALLOCATION_OUTCOMES = ("ELIGIBLE", "DISCRETIONARY", "INELIGIBLE")

OFFENDER_NO_PATTERN = "^[A-Z][0-9]{4}[A-Z]{2}$"
PRISON_CODE_PATTERN = "^[A-Z]{3}$"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    """CHECK column IN (...); NULL passes, nullability is the column's business."""
    return sa.CheckConstraint(f'"{column}" IN ({_quoted(values)})', name=f"ck_{table}_{column}")


def matches(table: str, column: str, pattern: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} ~ '{pattern}'", name=f"ck_{table}_{column}")


def now() -> sa.TextClause:
    return sa.text("now()")


def timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=now())


def allocation_columns_and_checks(table: str) -> list[SchemaItem]:
    """The POM/override columns shared by `allocation` and `allocation_event`."""
    return [
        sa.Column("primary_pom_staff_id", sa.Integer),
        sa.Column("primary_pom_name", sa.Text),
        sa.Column("secondary_pom_staff_id", sa.Integer),
        sa.Column("secondary_pom_name", sa.Text),
        sa.Column("allocated_at_tier", sa.String(1)),
        sa.Column("recommended_pom_type", sa.Text),
        sa.Column(
            "override_reasons",
            pg.ARRAY(sa.Text),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column("override_detail", sa.String(175)),
        sa.Column("suitability_detail", sa.String(175)),
        sa.Column("message", sa.Text),
        sa.Column("created_by_username", sa.Text),
        sa.Column("created_by_name", sa.Text),
        matches(table, "offender_no", OFFENDER_NO_PATTERN),
        matches(table, "prison_code", PRISON_CODE_PATTERN),
        one_of(table, "allocated_at_tier", TIERS),
        one_of(table, "recommended_pom_type", POM_TYPES),
        sa.CheckConstraint(
            f"override_reasons <@ ARRAY[{_quoted(OVERRIDE_REASONS)}]::text[]",
            name=f"ck_{table}_override_reasons",
        ),
        sa.CheckConstraint("char_length(message) <= 2000", name=f"ck_{table}_message_length"),
        sa.CheckConstraint(
            "primary_pom_staff_id IS NULL OR secondary_pom_staff_id IS NULL"
            " OR primary_pom_staff_id <> secondary_pom_staff_id",
            name=f"ck_{table}_primary_differs_from_secondary",
        ),
    ]


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION allocation_event_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'allocation_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              CONSTRAINT = 'allocation_event_append_only',
              TABLE = TG_TABLE_NAME;
END
$$
"""

# Statement level, so even an UPDATE or DELETE matching no rows is refused:
# code that tries to change history is wrong whether or not it found a row.
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER allocation_event_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON allocation_event
FOR EACH STATEMENT EXECUTE FUNCTION allocation_event_is_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "allocation",
        sa.Column("offender_no", sa.String(7), primary_key=True),
        sa.Column("prison_code", sa.String(3), nullable=False),
        sa.Column("primary_pom_allocated_at", sa.DateTime(timezone=True)),
        *allocation_columns_and_checks("allocation"),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0")),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.CheckConstraint("version >= 0", name="ck_allocation_version"),
    )
    op.create_index("ix_allocation_prison_code", "allocation", ["prison_code"])
    op.create_index("ix_allocation_primary_pom_staff_id", "allocation", ["primary_pom_staff_id"])
    op.create_index(
        "ix_allocation_secondary_pom_staff_id", "allocation", ["secondary_pom_staff_id"]
    )

    op.create_table(
        "allocation_event",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("offender_no", sa.String(7), nullable=False),
        sa.Column("prison_code", sa.String(3), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("previous_primary_pom_staff_id", sa.Integer),
        sa.Column("previous_secondary_pom_staff_id", sa.Integer),
        *allocation_columns_and_checks("allocation_event"),
        timestamp("created_at"),
        sa.Column("allocation_version", sa.Integer, nullable=False),
        one_of("allocation_event", "event", EVENTS),
        one_of("allocation_event", "trigger", TRIGGERS),
        sa.CheckConstraint(
            "allocation_version >= 1", name="ck_allocation_event_allocation_version"
        ),
        sa.UniqueConstraint(
            "offender_no", "allocation_version", name="uq_allocation_event_offender_no_version"
        ),
    )
    op.create_index("ix_allocation_event_offender_no_id", "allocation_event", ["offender_no", "id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)

    op.create_table(
        "case_information",
        sa.Column("offender_no", sa.String(7), primary_key=True),
        sa.Column("tier", sa.String(1)),
        sa.Column("probation_service", sa.Text),
        sa.Column("manual_entry", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("mappa_level", sa.SmallInteger),
        sa.Column("crn", sa.String(20)),
        sa.Column("com_name", sa.String(200)),
        sa.Column("com_email", sa.String(254)),
        sa.Column("team_name", sa.String(200)),
        sa.Column("ldu_code", sa.String(20)),
        sa.Column("updated_by_username", sa.Text),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        matches("case_information", "offender_no", OFFENDER_NO_PATTERN),
        one_of("case_information", "tier", TIERS),
        one_of("case_information", "probation_service", PROBATION_SERVICES),
        sa.CheckConstraint("mappa_level BETWEEN 0 AND 3", name="ck_case_information_mappa_level"),
        sa.CheckConstraint("version >= 1", name="ck_case_information_version"),
    )

    op.create_table(
        "pom_detail",
        sa.Column("staff_id", sa.Integer, primary_key=True),
        sa.Column("prison_code", sa.String(3), primary_key=True),
        sa.Column(
            "working_pattern", sa.Numeric(3, 2), nullable=False, server_default=sa.text("1.0")
        ),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'ACTIVE'")),
        sa.Column("updated_by_username", sa.Text),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        matches("pom_detail", "prison_code", PRISON_CODE_PATTERN),
        sa.CheckConstraint(
            "working_pattern BETWEEN 0.1 AND 1.0", name="ck_pom_detail_working_pattern"
        ),
        one_of("pom_detail", "status", POM_STATUSES),
        sa.CheckConstraint("version >= 1", name="ck_pom_detail_version"),
    )

    op.create_table(
        "responsibility_override",
        sa.Column("offender_no", sa.String(7), primary_key=True),
        sa.Column("responsibility", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reason_text", sa.String(500)),
        sa.Column("created_by_username", sa.Text),
        timestamp("created_at"),
        matches("responsibility_override", "offender_no", OFFENDER_NO_PATTERN),
        one_of("responsibility_override", "responsibility", RESPONSIBILITIES),
        one_of("responsibility_override", "reason", RESPONSIBILITY_REASONS),
        sa.CheckConstraint(
            "reason <> 'OTHER' OR btrim(coalesce(reason_text, '')) <> ''",
            name="ck_responsibility_override_reason_text_required_for_other",
        ),
    )

    op.create_table(
        "parole_review",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("offender_no", sa.String(7), nullable=False),
        sa.Column("sentence_start_date", sa.Date),
        sa.Column("target_hearing_date", sa.Date),
        sa.Column("hearing_outcome", sa.Text),
        sa.Column("outcome_is_release", sa.Boolean),
        sa.Column("completed", sa.Boolean, nullable=False, server_default=sa.text("false")),
        timestamp("created_at"),
        timestamp("updated_at"),
        matches("parole_review", "offender_no", OFFENDER_NO_PATTERN),
    )
    op.create_index("ix_parole_review_offender_no", "parole_review", ["offender_no"])

    op.create_table(
        "early_allocation",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("offender_no", sa.String(7), nullable=False),
        timestamp("created_at"),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("convicted_under_terrorism_act", sa.Boolean, nullable=False),
        sa.Column("high_profile", sa.Boolean, nullable=False),
        sa.Column("serious_crime_prevention_order", sa.Boolean, nullable=False),
        sa.Column("mappa_level_3", sa.Boolean, nullable=False),
        sa.Column("cppc_case", sa.Boolean, nullable=False),
        sa.Column("extremism_separation", sa.Boolean),
        sa.Column("due_for_release_in_less_than_24months", sa.Boolean),
        sa.Column("high_risk_of_serious_harm", sa.Boolean),
        sa.Column("mappa_level_2", sa.Boolean),
        sa.Column("pathfinder_process", sa.Boolean),
        sa.Column("other_reason", sa.Boolean),
        sa.Column("community_decision", sa.Boolean),
        sa.Column("created_by_username", sa.Text),
        matches("early_allocation", "offender_no", OFFENDER_NO_PATTERN),
        one_of("early_allocation", "outcome", EARLY_ALLOCATION_OUTCOMES),
    )
    op.create_index(
        "ix_early_allocation_offender_no_created_at",
        "early_allocation",
        ["offender_no", "created_at"],
    )

    op.create_table(
        "idempotency_key",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("operation", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("response", pg.JSONB, nullable=False),
        sa.Column("created_by_username", sa.Text),
        timestamp("created_at"),
        sa.CheckConstraint("char_length(key) > 0", name="ck_idempotency_key_key"),
    )


def downgrade() -> None:
    for table in (
        "idempotency_key",
        "early_allocation",
        "parole_review",
        "responsibility_override",
        "pom_detail",
        "case_information",
        "allocation_event",
        "allocation",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION allocation_event_is_append_only()")
