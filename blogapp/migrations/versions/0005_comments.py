"""comments

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Post authors' "email me about new comments on my posts" (one-click unsubscribe turns it off).
    # A plain ADD COLUMN (no batch table rebuild): rebuilding `users` on SQLite would drop
    # a table other rows reference, which foreign keys refuse once the blog holds data.
    op.add_column(
        'users', sa.Column('notify_comments', sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade():
    op.drop_column('users', 'notify_comments')
