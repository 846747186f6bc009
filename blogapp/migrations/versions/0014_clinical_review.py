"""clinical review: editor role, reviewers, revisions, review decisions, audit log

Revision ID: 0014
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('reviewer_credentials', sa.String(length=200), server_default='', nullable=False))
    op.add_column('categories', sa.Column('needs_review', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('categories', sa.Column('review_months', sa.Integer(), server_default='12', nullable=False))
    # Advice needs clinical review from the start, as on a new install (seed-demo).
    op.execute("UPDATE categories SET needs_review = true WHERE slug = 'advice'")
    op.add_column('posts', sa.Column('review_status', sa.String(length=20), server_default='', nullable=False))
    op.add_column('posts', sa.Column('live_revision_id', sa.Integer(), nullable=True))
    op.add_column('posts', sa.Column('live_review_id', sa.Integer(), nullable=True))
    op.add_column('posts', sa.Column('next_review_on', sa.Date(), nullable=True))
    op.add_column('posts', sa.Column('content_updated_at', blogapp.models.UTCDateTime(timezone=True), nullable=True))
    op.add_column('posts', sa.Column('review_history_note', sa.Text(), server_default='', nullable=False))
    op.create_table('post_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_note', sa.String(length=500), nullable=False),
    sa.Column('note_public', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_post_revisions_editor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_revisions_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_revisions'))
    )
    op.create_index('uq_post_revisions_number', 'post_revisions', ['post_id', 'number'], unique=True)
    op.create_table('review_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_name', sa.String(length=300), nullable=False),
    sa.Column('credentials', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_review_decisions_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['post_revisions.id'], name=op.f('fk_review_decisions_revision_id_post_revisions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_review_decisions_reviewer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_decisions'))
    )
    op.create_index(op.f('ix_review_decisions_post_id'), 'review_decisions', ['post_id'], unique=False)
    op.create_index(op.f('ix_review_decisions_revision_id'), 'review_decisions', ['revision_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', blogapp.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('target_label', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'], unique=False)
    op.create_index(op.f('ix_audit_log_created_at'), 'audit_log', ['created_at'], unique=False)
    # Every existing post starts with its current text as revision 1, live.
    op.execute(
        "INSERT INTO post_revisions (post_id, number, title, body_md, excerpt, editor_id,"
        " created_at, change_note, note_public, kind)"
        " SELECT id, 1, title, body_md, excerpt, author_id, updated_at, '', false, 'edit'"
        " FROM posts"
    )
    op.execute(
        "UPDATE posts SET live_revision_id ="
        " (SELECT r.id FROM post_revisions r WHERE r.post_id = posts.id AND r.number = 1)"
    )
    # The old free-text line was typed by whoever edited the post: history, not sign-off.
    op.execute(
        "UPDATE posts SET review_history_note = 'Reviewed by ' || reviewed_by"
        " || CASE WHEN reviewed_on IS NULL THEN ''"
        " ELSE ' on ' || CAST(reviewed_on AS VARCHAR(20)) END"
        " || ' (recorded before reviews were signed off on this site)'"
        " WHERE reviewed_by <> ''"
    )
    op.drop_column('posts', 'reviewed_on')
    op.drop_column('posts', 'reviewed_by')


def downgrade():
    op.add_column('posts', sa.Column('reviewed_by', sa.String(length=200), server_default='', nullable=False))
    op.add_column('posts', sa.Column('reviewed_on', sa.Date(), nullable=True))
    op.drop_index(op.f('ix_audit_log_created_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_review_decisions_revision_id'), table_name='review_decisions')
    op.drop_index(op.f('ix_review_decisions_post_id'), table_name='review_decisions')
    op.drop_table('review_decisions')
    op.drop_index('uq_post_revisions_number', table_name='post_revisions')
    op.drop_table('post_revisions')
    for column in ('review_history_note', 'content_updated_at', 'next_review_on',
                   'live_review_id', 'live_revision_id', 'review_status'):
        op.drop_column('posts', column)
    op.drop_column('categories', 'review_months')
    op.drop_column('categories', 'needs_review')
    op.drop_column('users', 'reviewer_credentials')
