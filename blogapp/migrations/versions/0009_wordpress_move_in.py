"""wordpress move in: the old site's media library and every old address

Revision ID: 0009
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0009'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wordpress_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wp_id', sa.Integer(), nullable=True),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('alt', sa.String(length=300), nullable=False),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wordpress_media')),
    sa.UniqueConstraint('file', name=op.f('uq_wordpress_media_file')),
    sa.UniqueConstraint('wp_id', name=op.f('uq_wordpress_media_wp_id'))
    )
    op.create_table('old_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tag_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_old_addresses_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_id'], ['wordpress_media.id'], name=op.f('fk_old_addresses_media_id_wordpress_media'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_old_addresses_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_old_addresses_tag_id_tags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_old_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_old_addresses')),
    sa.UniqueConstraint('path', name=op.f('uq_old_addresses_path'))
    )
    with op.batch_alter_table('old_addresses', schema=None) as batch_op:
        for column in ('post_id', 'category_id', 'tag_id', 'user_id', 'media_id'):
            batch_op.create_index(batch_op.f(f'ix_old_addresses_{column}'), [column], unique=False)


def downgrade():
    with op.batch_alter_table('old_addresses', schema=None) as batch_op:
        for column in ('post_id', 'category_id', 'tag_id', 'user_id', 'media_id'):
            batch_op.drop_index(batch_op.f(f'ix_old_addresses_{column}'))
    op.drop_table('old_addresses')
    op.drop_table('wordpress_media')
