"""batches: a job's work in shares that workers on every machine take (job_batch: a range of
item ids, the lease of the worker on it, who finished it)

Revision ID: 0009_batches
Revises: 0008_versions
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_batches"
down_revision = "0008_versions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("done_by", sa.String(length=120), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_batch_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_batch")),
    )
    op.create_index("ix_job_batch_job_status", "job_batch", ["job_id", "status", "id"], unique=False)


def downgrade():
    op.drop_index("ix_job_batch_job_status", table_name="job_batch")
    op.drop_table("job_batch")
