"""speed

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


# The listing indexes in list order, status last: pages of posts read only the index
# entries they show (no sort over every post) and counts are covering-index scans.
LISTING = {
    "ix_posts_listing": (
        ["kind", "status", "published_at"],
        ["kind", "published_at", "id", "status"],
    ),
    "ix_posts_author_listing": (
        ["author_id", "kind", "status", "published_at"],
        ["author_id", "kind", "published_at", "id", "status"],
    ),
    "ix_posts_category_listing": (
        ["category_id", "kind", "status", "published_at"],
        ["category_id", "kind", "published_at", "id", "status"],
    ),
}


def upgrade():
    for name, (_, new) in LISTING.items():
        op.drop_index(name, table_name="posts")
        op.create_index(name, "posts", new, unique=False)


def downgrade():
    for name, (old, _) in LISTING.items():
        op.drop_index(name, table_name="posts")
        op.create_index(name, "posts", old, unique=False)
