"""companions: files that travel as one item (a Live Photo's still and video, RAW + JPEG, an
edit, a sidecar): file.companion_of points at the set's main file, file.companion_role says
what each file is in its set (vocab.CompanionRole); parts have status "companion"

Plain ADD COLUMN only: re-creating `file` would drop its name-search and count triggers.

Revision ID: 0011_companions
Revises: 0010_dupstage
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_companions"
down_revision = "0010_dupstage"
branch_labels = None
depends_on = None


def upgrade():
    # not a foreign key: SQLite adds one only by rebuilding the table (file rows are never deleted)
    op.add_column("file", sa.Column("companion_of", sa.Integer(), nullable=True))
    op.add_column("file", sa.Column("companion_role", sa.String(length=10), nullable=True))
    op.create_index("ix_file_companion", "file", ["companion_of", "companion_role"])


def downgrade():
    # plain DROP COLUMN (SQLite 3.35+): a batch rebuild of `file` would break the triggers
    op.drop_index("ix_file_companion", table_name="file")
    op.drop_column("file", "companion_role")
    op.drop_column("file", "companion_of")
