"""wordpress import

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # The WordPress post_name, so old permalinks find a post whose slug had to change.
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wp_slug', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_posts_wp_slug'), ['wp_slug'], unique=False)


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posts_wp_slug'))
        batch_op.drop_column('wp_slug')
