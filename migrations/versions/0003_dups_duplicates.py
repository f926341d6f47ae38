"""duplicates: picture fingerprints for near-duplicate search, and match similarity

Revision ID: 0003_dups
Revises: 0001
Create Date: 2026-11-25 17:29:47.955751

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_dups'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'file_fingerprint',
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('pixels', sa.LargeBinary(), nullable=False),
        sa.Column('probes', sa.LargeBinary(), nullable=True),
        sa.Column('probes_version', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['file_id'], ['file.id'], name=op.f('fk_file_fingerprint_file_id_file'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('file_id', name=op.f('pk_file_fingerprint')),
    )
    with op.batch_alter_table('duplicate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('similarity', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('duplicate', schema=None) as batch_op:
        batch_op.drop_column('similarity')
    op.drop_table('file_fingerprint')
