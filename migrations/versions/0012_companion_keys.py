"""companion keys: file.companion_key (what the files one file may travel with share, from its
name) and file.content_id (a Live Photo half's content identifier, also in meta), indexed, so
an import links its new files by looking up their candidates instead of reading the library

Plain ADD COLUMN only: re-creating `file` would drop its name-search and count triggers.

Revision ID: 0012_companion_keys
Revises: 0011_companions
"""

import json

import sqlalchemy as sa
from alembic import op

from app.media.companion_names import content_id, family_key

revision = "0012_companion_keys"
down_revision = "0011_companions"
branch_labels = None
depends_on = None

BATCH = 5000


def _content_id(meta) -> str | None:
    """meta as the driver gives it: JSON text on SQLite, a dict on PostgreSQL."""
    return content_id((json.loads(meta) if isinstance(meta, str) else meta) or {})


def upgrade():
    op.add_column("file", sa.Column("companion_key", sa.Text(), nullable=True))
    op.add_column("file", sa.Column("content_id", sa.Text(), nullable=True))
    # the files recorded so far (those still pending get theirs when they are recorded)
    connection = op.get_bind()
    file = sa.table(
        "file", sa.column("id"), sa.column("original_name"), sa.column("meta"), sa.column("status"),
        sa.column("companion_key"), sa.column("content_id"),
    )  # fmt: skip
    last = 0
    while True:
        rows = connection.execute(
            sa.select(file.c.id, file.c.original_name, file.c.meta)
            .where(file.c.id > last, file.c.status != "pending")
            .order_by(file.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        connection.execute(
            file.update().where(file.c.id == sa.bindparam("b_id")),
            [
                {"b_id": r.id, "companion_key": family_key(r.original_name or ""), "content_id": _content_id(r.meta)}
                for r in rows
            ],
        )
    op.create_index("ix_file_companion_key", "file", ["companion_key"])
    op.create_index("ix_file_content_id", "file", ["content_id"])


def downgrade():
    # plain DROP COLUMN (SQLite 3.35+): a batch rebuild of `file` would break the triggers
    op.drop_index("ix_file_content_id", table_name="file")
    op.drop_index("ix_file_companion_key", table_name="file")
    op.drop_column("file", "content_id")
    op.drop_column("file", "companion_key")
