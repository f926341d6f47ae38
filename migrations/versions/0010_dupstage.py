"""dupstage: an index holding every picture's probe hashes, so an import's duplicate stage
reads them without wading through the fingerprints' pixels

Revision ID: 0010_dupstage
Revises: 0009_batches
"""

from alembic import op

revision = "0010_dupstage"
down_revision = "0009_batches"
branch_labels = None
depends_on = None


def upgrade():
    # a covering index: a scan of (version, file id, probes) reads the index alone (~0.7 KB a
    # picture), not the table, whose rows are mostly the 4 KB fingerprint
    op.create_index(
        "ix_file_fingerprint_probes", "file_fingerprint", ["probes_version", "file_id", "probes"], unique=False
    )


def downgrade():
    op.drop_index("ix_file_fingerprint_probes", table_name="file_fingerprint")
