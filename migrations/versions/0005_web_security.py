"""web security: each file's inode (originals are served only while it still matches) and
server-side login sessions (signing out makes an old cookie useless)

Revision ID: 0005_web_security
Revises: 0004_name_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_web_security"
down_revision = "0004_name_search"
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN: re-creating `file` would drop the name-search triggers
    op.add_column("file", sa.Column("inode", sa.BigInteger(), nullable=True))
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
    )
    op.create_index(op.f("ix_login_session_last_seen_at"), "login_session", ["last_seen_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_login_session_last_seen_at"), table_name="login_session")
    op.drop_table("login_session")
    op.drop_column("file", "inode")  # SQLite 3.35+ drops a column in place
