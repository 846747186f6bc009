"""outbox and newsletter: every email as a row in the same commit; subscribers and issues

Revision ID: 0012
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('all_categories', sa.Boolean(), nullable=False),
    sa.Column('link_key', sa.String(length=32), nullable=False),
    sa.Column('confirmation_sent_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('email_key', name=op.f('uq_subscribers_email_key')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.create_index('ix_subscribers_status_frequency', ['status', 'frequency'], unique=False)

    op.create_table('subscriber_categories',
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_subscriber_categories_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_subscriber_categories_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscriber_id', 'category_id', name=op.f('pk_subscriber_categories'))
    )
    with op.batch_alter_table('subscriber_categories', schema=None) as batch_op:
        batch_op.create_index('ix_subscriber_categories_category_id', ['category_id', 'subscriber_id'], unique=False)

    op.create_table('newsletters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=16), nullable=True),
    sa.Column('starts_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('send_after', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expanded_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_newsletters_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletters')),
    sa.UniqueConstraint('period', name=op.f('uq_newsletters_period')),
    sa.UniqueConstraint('post_id', name=op.f('uq_newsletters_post_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('newsletters', schema=None) as batch_op:
        batch_op.create_index('ix_newsletters_due', ['expanded_at', 'send_after'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('headers_json', sa.Text(), nullable=False),
    sa.Column('newsletter_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', blogapp.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['newsletter_id'], ['newsletters.id'], name=op.f('fk_outbox_newsletter_id_newsletters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_outbox_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('uq_outbox_newsletter_subscriber', ['newsletter_id', 'subscriber_id'], unique=True)



def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('uq_outbox_newsletter_subscriber')
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('newsletters', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletters_due')

    op.drop_table('newsletters')
    with op.batch_alter_table('subscriber_categories', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriber_categories_category_id')

    op.drop_table('subscriber_categories')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index('ix_subscribers_status_frequency')

    op.drop_table('subscribers')
