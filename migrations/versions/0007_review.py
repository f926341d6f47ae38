"""review: why a date needs a look, a person's rotation, tags that keep their case, and
counts kept current by triggers (the home and triage pages at a million files)

- file.review_reason (vocab.ReviewReason) with an index for the triage page and its filter;
- file.rotation: degrees a person turned the picture (written into the exported copy only);
- tag.key: the tag's name in lower case, unique, so "Grandma" and "grandma" are one tag;
- file_tag.taken_at: the file's capture time, copied by triggers, so a tag's files in capture
  order (and a tag with a date range) are one range of an index;
- file_state_count / file_day_count: how many files are in each state and on each day, kept
  current by triggers on `file` (SQLite). On other databases the tables stay empty and
  app/pipeline/counts.py counts the `file` table instead.

Plain ADD COLUMN and new tables only: re-creating `file` would drop the name-search triggers.

Revision ID: 0007_review
Revises: 0006_scale
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_review"
down_revision = "0006_scale"
branch_labels = None
depends_on = None


def _state_key(row: str) -> str:
    """The file's state as one text key (app/pipeline/counts.py reads it)."""
    return (
        f"coalesce({row}.status, '') || '|' || coalesce({row}.discarded, 0) || '|' || "
        f"coalesce({row}.needs_review, 0) || '|' || coalesce({row}.review_reason, '') || '|' || "
        f"coalesce({row}.confidence, '') || '|' || ({row}.taken_at IS NOT NULL) || '|' || "
        f"coalesce({row}.media_kind, '')"
    )


def _on_timeline(row: str) -> str:
    return (
        f"{row}.status IN ('done', 'duplicate') AND coalesce({row}.discarded, 0) = 0 "
        f"AND {row}.taken_local IS NOT NULL"
    )


def _add(key_sql: str, table: str, column: str, where: str = "1") -> str:
    return (
        f"INSERT INTO {table}({column}, n) SELECT {key_sql}, 1 WHERE {where} "
        f"ON CONFLICT({column}) DO UPDATE SET n = n + 1;"
    )


def _remove(key_sql: str, table: str, column: str, where: str = "1") -> str:
    return f"UPDATE {table} SET n = n - 1 WHERE {column} = {key_sql} AND ({where});"


TRIGGERS = {
    "file_state_count_insert": "AFTER INSERT ON file BEGIN "
    + _add(_state_key("NEW"), "file_state_count", "key")
    + _add("substr(NEW.taken_local, 1, 10)", "file_day_count", "day", _on_timeline("NEW"))
    + " END",
    "file_state_count_delete": "AFTER DELETE ON file BEGIN "
    + _remove(_state_key("OLD"), "file_state_count", "key")
    + _remove("substr(OLD.taken_local, 1, 10)", "file_day_count", "day", _on_timeline("OLD"))
    + " END",
    "file_state_count_update": "AFTER UPDATE OF status, discarded, needs_review, review_reason, confidence, "
    f"taken_at, media_kind ON file WHEN ({_state_key('OLD')}) IS NOT ({_state_key('NEW')}) BEGIN "
    + _remove(_state_key("OLD"), "file_state_count", "key")
    + _add(_state_key("NEW"), "file_state_count", "key")
    + " END",
    "file_day_count_update": "AFTER UPDATE OF status, discarded, taken_local ON file "
    f"WHEN ({_on_timeline('OLD')}) IS NOT ({_on_timeline('NEW')}) "
    "OR OLD.taken_local IS NOT NEW.taken_local BEGIN "
    + _remove("substr(OLD.taken_local, 1, 10)", "file_day_count", "day", _on_timeline("OLD"))
    + _add("substr(NEW.taken_local, 1, 10)", "file_day_count", "day", _on_timeline("NEW"))
    + " END",
    "file_tag_taken_insert": "AFTER INSERT ON file_tag WHEN NEW.taken_at IS NULL BEGIN "
    "UPDATE file_tag SET taken_at = (SELECT taken_at FROM file WHERE id = NEW.file_id) "
    "WHERE file_id = NEW.file_id AND tag_id = NEW.tag_id; END",
    "file_tag_taken_update": "AFTER UPDATE OF taken_at ON file WHEN OLD.taken_at IS NOT NEW.taken_at BEGIN "
    "UPDATE file_tag SET taken_at = NEW.taken_at WHERE file_id = NEW.id; END",
}


def upgrade():
    op.add_column("file", sa.Column("review_reason", sa.String(length=20), nullable=True))
    op.add_column("file", sa.Column("rotation", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_file_review_reason", "file", ["review_reason", "taken_at", "id"], unique=False)
    # filters that keep the grid's capture-time order (they replace the one-column indexes)
    op.drop_index("ix_file_confidence", table_name="file")
    op.drop_index("ix_file_discarded", table_name="file")
    op.create_index("ix_file_confidence_taken", "file", ["confidence", "taken_at", "id"], unique=False)
    op.create_index("ix_file_discarded_taken", "file", ["discarded", "taken_at", "id"], unique=False)
    op.create_index("ix_file_job_taken", "file", ["job_id", "taken_at", "id"], unique=False)
    op.drop_index("ix_file_media_kind", table_name="file")
    op.create_index("ix_file_kind_taken", "file", ["media_kind", "taken_at", "id"], unique=False)
    op.create_index(
        "ix_file_group_taken", "file", ["group_id", "status", "discarded", "taken_at", "id"], unique=False
    )
    op.add_column("tag", sa.Column("key", sa.String(length=100), nullable=True))
    op.execute("UPDATE tag SET key = lower(name)")  # names were stored in lower case until now
    op.create_index("ix_tag_key", "tag", ["key"], unique=True)
    op.add_column("file_tag", sa.Column("taken_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE file_tag SET taken_at = (SELECT taken_at FROM file WHERE file.id = file_tag.file_id)")
    op.create_index("ix_file_tag_taken", "file_tag", ["tag_id", "taken_at", "file_id"], unique=False)
    op.create_table(
        "file_state_count",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_file_state_count")),
    )
    op.create_table(
        "file_day_count",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_file_day_count")),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"INSERT INTO file_state_count(key, n) SELECT {_state_key('file')}, count(*) FROM file GROUP BY 1")
    op.execute(
        "INSERT INTO file_day_count(day, n) SELECT substr(taken_local, 1, 10), count(*) FROM file "
        f"WHERE {_on_timeline('file')} GROUP BY 1"
    )
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("file_day_count")
    op.drop_table("file_state_count")
    op.drop_index("ix_file_tag_taken", table_name="file_tag")
    op.drop_column("file_tag", "taken_at")
    op.drop_index("ix_tag_key", table_name="tag")
    op.drop_column("tag", "key")
    op.drop_index("ix_file_group_taken", table_name="file")
    op.drop_index("ix_file_kind_taken", table_name="file")
    op.create_index("ix_file_media_kind", "file", ["media_kind"], unique=False)
    op.drop_index("ix_file_job_taken", table_name="file")
    op.drop_index("ix_file_discarded_taken", table_name="file")
    op.drop_index("ix_file_confidence_taken", table_name="file")
    op.create_index("ix_file_discarded", "file", ["discarded"], unique=False)
    op.create_index("ix_file_confidence", "file", ["confidence"], unique=False)
    op.drop_index("ix_file_review_reason", table_name="file")
    op.drop_column("file", "rotation")
    op.drop_column("file", "review_reason")
