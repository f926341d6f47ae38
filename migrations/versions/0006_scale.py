"""scale: library-wide locks in the database (leases renewed by a heartbeat), and on
PostgreSQL the two foreign keys of duplicate_group that 0001 left out

Revision ID: 0006_scale
Revises: 0005_web_security

0001 creates duplicate_group before file, with its two foreign keys to file marked
use_alter; create_table on PostgreSQL skips such keys (they are meant for a later ALTER),
while SQLite writes them into the table. Here PostgreSQL gets them, named as the models
name them; a database that has them already is left alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_scale"
down_revision = "0005_web_security"
branch_labels = None
depends_on = None

GROUP_KEYS = {
    "fk_duplicate_group_representative_id_file": "representative_id",
    "fk_duplicate_group_recommended_id_file": "recommended_id",
}


def _missing_group_keys(bind) -> dict[str, str]:
    have = {fk["name"] for fk in sa.inspect(bind).get_foreign_keys("duplicate_group")}
    return {name: column for name, column in GROUP_KEYS.items() if name not in have}


def upgrade():
    op.create_table(
        "library_lock",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_library_lock")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":  # SQLite has them since 0001 (and cannot ALTER them in)
        for name, column in _missing_group_keys(bind).items():
            op.create_foreign_key(name, "duplicate_group", "file", [column], ["id"], ondelete="SET NULL")


def downgrade():
    # the foreign keys stay: they belong to the schema 0001 meant to make
    op.drop_table("library_lock")
