"""search

Full-text search over posts: title, body text, tag names and category name.

SQLite: an FTS5 table `posts_fts` (rowid = posts.id; porter stemming, diacritics folded).
PostgreSQL: a table `posts_fts` (post_id, weighted tsvector 'english') with a GIN index.
Both are kept in sync by triggers on posts, post_tags, tags and categories, so every
writer (web forms, the WordPress importer, the CLI, test builders) is covered.

Hand-made objects: blogapp/migrations_filter.py keeps autogenerate away from `posts_fts*`.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

import blogapp.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


# ---------------------------------------------------------------- SQLite (FTS5)

# Written out in full (no string building): these are fixed statements, read as they run.
SQLITE_UP = [
    # category_id rides along (unindexed) so the categories trigger needn't read posts: a
    # trigger on another table that names posts would break batch table rebuilds of posts.
    """CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, tags, category,
        category_id UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER posts_fts_posts_ai AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, title, body, tags, category, category_id) VALUES (
            new.id, new.title, new.body_text,
            (SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
             JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = new.id),
            coalesce((SELECT c.name FROM categories c WHERE c.id = new.category_id), ''),
            new.category_id);
    END""",
    """CREATE TRIGGER posts_fts_posts_au AFTER UPDATE OF title, body_text, category_id ON posts
    BEGIN
        DELETE FROM posts_fts WHERE rowid = old.id;
        INSERT INTO posts_fts(rowid, title, body, tags, category, category_id) VALUES (
            new.id, new.title, new.body_text,
            (SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
             JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = new.id),
            coalesce((SELECT c.name FROM categories c WHERE c.id = new.category_id), ''),
            new.category_id);
    END""",
    """CREATE TRIGGER posts_fts_posts_ad AFTER DELETE ON posts BEGIN
        DELETE FROM posts_fts WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER posts_fts_post_tags_ai AFTER INSERT ON post_tags BEGIN
        UPDATE posts_fts SET tags = (
            SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
            JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = new.post_id)
        WHERE rowid = new.post_id;
    END""",
    """CREATE TRIGGER posts_fts_post_tags_ad AFTER DELETE ON post_tags BEGIN
        UPDATE posts_fts SET tags = (
            SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
            JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = old.post_id)
        WHERE rowid = old.post_id;
    END""",
    """CREATE TRIGGER posts_fts_tags_au AFTER UPDATE OF name ON tags BEGIN
        UPDATE posts_fts SET tags = (
            SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
            JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = posts_fts.rowid)
        WHERE rowid IN (SELECT post_id FROM post_tags WHERE tag_id = new.id);
    END""",
    """CREATE TRIGGER posts_fts_categories_au AFTER UPDATE OF name ON categories BEGIN
        UPDATE posts_fts SET category = new.name WHERE category_id = new.id;
    END""",
    # Rows that existed before this migration.
    """INSERT INTO posts_fts(rowid, title, body, tags, category, category_id)
        SELECT p.id, p.title, p.body_text,
            (SELECT coalesce(group_concat(t.name, ' '), '') FROM tags t
             JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = p.id),
            coalesce((SELECT c.name FROM categories c WHERE c.id = p.category_id), ''),
            p.category_id
        FROM posts p""",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_categories_au",
    "DROP TRIGGER IF EXISTS posts_fts_tags_au",
    "DROP TRIGGER IF EXISTS posts_fts_post_tags_ad",
    "DROP TRIGGER IF EXISTS posts_fts_post_tags_ai",
    "DROP TRIGGER IF EXISTS posts_fts_posts_ad",
    "DROP TRIGGER IF EXISTS posts_fts_posts_au",
    "DROP TRIGGER IF EXISTS posts_fts_posts_ai",
    "DROP TABLE IF EXISTS posts_fts",
]


# ---------------------------------------------------------------- PostgreSQL (tsvector)

POSTGRES_UP = [
    """CREATE TABLE posts_fts (
        post_id integer PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX posts_fts_document_idx ON posts_fts USING gin (document)",
    # Title weighs most, then tags, category, body: a title match outranks a passing mention.
    """CREATE FUNCTION posts_fts_refresh(pid integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO posts_fts (post_id, document)
        SELECT p.id,
               setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce((
                    SELECT string_agg(t.name, ' ') FROM tags t
                    JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = p.id), '')), 'B')
            || setweight(to_tsvector('english', coalesce(c.name, '')), 'C')
            || setweight(to_tsvector('english', coalesce(p.body_text, '')), 'D')
        FROM posts p LEFT JOIN categories c ON c.id = p.category_id
        WHERE p.id = pid
        ON CONFLICT (post_id) DO UPDATE SET document = EXCLUDED.document
    $$""",
    """CREATE FUNCTION posts_fts_on_post() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM posts_fts_refresh(NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION posts_fts_on_post_tag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM posts_fts_refresh(OLD.post_id);
        ELSE
            PERFORM posts_fts_refresh(NEW.post_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION posts_fts_on_tag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM posts_fts_refresh(pt.post_id) FROM post_tags pt WHERE pt.tag_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION posts_fts_on_category() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM posts_fts_refresh(p.id) FROM posts p WHERE p.category_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER posts_fts_posts AFTER INSERT OR UPDATE OF title, body_text, category_id
        ON posts FOR EACH ROW EXECUTE FUNCTION posts_fts_on_post()""",
    """CREATE TRIGGER posts_fts_post_tags AFTER INSERT OR DELETE
        ON post_tags FOR EACH ROW EXECUTE FUNCTION posts_fts_on_post_tag()""",
    """CREATE TRIGGER posts_fts_tags AFTER UPDATE OF name
        ON tags FOR EACH ROW EXECUTE FUNCTION posts_fts_on_tag()""",
    """CREATE TRIGGER posts_fts_categories AFTER UPDATE OF name
        ON categories FOR EACH ROW EXECUTE FUNCTION posts_fts_on_category()""",
    "SELECT posts_fts_refresh(id) FROM posts",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_categories ON categories",
    "DROP TRIGGER IF EXISTS posts_fts_tags ON tags",
    "DROP TRIGGER IF EXISTS posts_fts_post_tags ON post_tags",
    "DROP TRIGGER IF EXISTS posts_fts_posts ON posts",
    "DROP FUNCTION IF EXISTS posts_fts_on_category()",
    "DROP FUNCTION IF EXISTS posts_fts_on_tag()",
    "DROP FUNCTION IF EXISTS posts_fts_on_post_tag()",
    "DROP FUNCTION IF EXISTS posts_fts_on_post()",
    "DROP FUNCTION IF EXISTS posts_fts_refresh(integer)",
    "DROP TABLE IF EXISTS posts_fts",
]


def _backfill_body_text():
    """Plain text of the bodies already stored (the triggers index it)."""
    from blogapp.markup import plain_text

    bind = op.get_bind()
    posts = sa.table("posts", sa.column("id", sa.Integer), sa.column("body_html", sa.Text),
                     sa.column("body_text", sa.Text))
    for post_id, body_html in bind.execute(sa.select(posts.c.id, posts.c.body_html)).all():
        bind.execute(posts.update().where(posts.c.id == post_id)
                     .values(body_text=plain_text(body_html or "")))


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=False, server_default=''))
    _backfill_body_text()
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('body_text')
