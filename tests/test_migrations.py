"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from blogapp.extensions import db
from blogapp.migrations_filter import include_object


def test_migrations_match_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, db.metadata) == []


def test_upgrade_keeps_existing_content(app):
    """A blog holding data at the first revision upgrades to the newest without losing any."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="0001")
        _insert_first_revision_rows()
        upgrade()
        counts = {
            table: db.session.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in ("users", "posts", "comments")
        }
        assert counts == {"users": 1, "posts": 1, "comments": 1}
        title = db.session.scalar(text("SELECT title FROM posts"))
        assert title == "Old post"
        db.session.remove()


def _insert_first_revision_rows():
    """Rows written with only the first revision's columns, as an early install had them."""
    statements = [
        "INSERT INTO users (username, username_key, display_name, bio, bio_html, role,"
        " suspended, session_version, notify_replies, created_at)"
        " VALUES ('old', 'old', '', '', '', 'author', false, 1, false, CURRENT_TIMESTAMP)",
        "INSERT INTO posts (kind, title, slug, body_md, body_format, body_html, toc_json,"
        " excerpt, summary, word_count, status, published_at, created_at, updated_at,"
        " author_id, cover_alt, reviewed_by, comments_open, sticky, comment_count)"
        " VALUES ('post', 'Old post', 'old-post', 'Old words', 'markdown', '<p>Old words</p>',"
        " '[]', '', 'Old words', 2, 'published', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP, (SELECT id FROM users), '', '', true, false, 1)",
        "INSERT INTO comments (post_id, user_id, guest_name, guest_email, guest_website, status,"
        " held_reason, body_md, body_html, created_at, ip)"
        " VALUES ((SELECT id FROM posts), (SELECT id FROM users), '', '', '', 'approved', '',"
        " 'Hi', '<p>Hi</p>', CURRENT_TIMESTAMP, '')",
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
