"""versions: how a version's picture is turned or cropped from its group's (duplicate.transform,
.angle, .crop),
and a picture's colourfulness (file_fingerprint.colour_*) for black-and-white and sepia copies

Revision ID: 0008_versions
Revises: 0007_review
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_versions"
down_revision = "0007_review"
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMNs: no table is rebuilt
    op.add_column("duplicate", sa.Column("transform", sa.Integer(), nullable=True))
    op.add_column("duplicate", sa.Column("angle", sa.Float(), nullable=True))
    op.add_column("duplicate", sa.Column("crop", sa.Float(), nullable=True))
    op.add_column("file_fingerprint", sa.Column("colour_chroma", sa.Float(), nullable=True))
    op.add_column("file_fingerprint", sa.Column("colour_residual", sa.Float(), nullable=True))
    op.add_column("file_fingerprint", sa.Column("colour_hue", sa.Float(), nullable=True))


def downgrade():
    op.drop_column("file_fingerprint", "colour_hue")
    op.drop_column("file_fingerprint", "colour_residual")
    op.drop_column("file_fingerprint", "colour_chroma")
    op.drop_column("duplicate", "crop")
    op.drop_column("duplicate", "angle")
    op.drop_column("duplicate", "transform")
