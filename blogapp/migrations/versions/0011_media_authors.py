"""media library, author profiles (issue 17)

Revision ID: 0011
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch rebuild): rebuilding `users` on SQLite would drop a table
    # other rows reference (see 0005).
    op.add_column(
        'users',
        sa.Column('credentials', sa.String(length=100), server_default='', nullable=False),
    )
    op.add_column('users', sa.Column('avatar', sa.String(length=100), nullable=True))

    op.create_table(
        'media_images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('alt', sa.String(length=300), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'],
            name=op.f('fk_media_images_owner_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_media_images')),
        sa.UniqueConstraint('name', name=op.f('uq_media_images_name')),
    )
    with op.batch_alter_table('media_images', schema=None) as batch_op:
        batch_op.create_index('ix_media_images_owner', ['owner_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('media_images', schema=None) as batch_op:
        batch_op.drop_index('ix_media_images_owner')
    op.drop_table('media_images')
    op.drop_column('users', 'avatar')
    op.drop_column('users', 'credentials')
