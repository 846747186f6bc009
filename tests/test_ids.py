"""An id is never given twice, and a link for a gone row says 410 (issue 15, point 6)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, inspect, select, text

from blogapp.comments import notifications
from blogapp.extensions import db
from blogapp.models import Comment, Role, User
from tests.builders import make_comment, make_post, make_user
from tests.helpers import AuthActions, csrf_token, record_mail


def integer_id_tables() -> list:
    return [
        table
        for table in db.metadata.sorted_tables
        if len(table.primary_key.columns) == 1
        and isinstance(list(table.primary_key.columns)[0].type, db.Integer)
        and not list(table.primary_key.columns)[0].foreign_keys  # another row's id, not new
    ]


def test_every_table_with_an_integer_id_never_reuses_one(app):
    """From the metadata: each such table is AUTOINCREMENT in the migrated SQLite schema."""
    tables = integer_id_tables()
    assert {"users", "posts", "comments", "categories"} <= {t.name for t in tables}
    with app.app_context():
        for table in tables:
            assert table.dialect_options["sqlite"]["autoincrement"], table.name
            key = list(table.primary_key.columns)[0].name
            if db.engine.dialect.name == "sqlite":
                sql = db.session.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                    {"name": table.name},
                )
                assert "AUTOINCREMENT" in sql, table.name
            else:  # a sequence, which never goes back
                sequence = db.session.scalar(
                    text("SELECT pg_get_serial_sequence(:table, :key)"),
                    {"table": table.name, "key": key},
                )
                assert sequence, table.name


def test_a_deleted_comments_id_goes_to_no_one_else(app):
    with app.app_context():
        post = make_post()
        gone = make_comment(post, "First")
        gone_id = gone.id
        db.session.delete(gone)
        db.session.commit()
        assert make_comment(post, "Second").id != gone_id


@pytest.fixture
def mailed_link(app):
    """The post's author is mailed about a guest's comment; returns (approve path, comment id)."""
    with app.app_context():
        writer = make_user("writer", role=Role.AUTHOR)
        slug = make_post(writer, title="Open thread").slug
    client = app.test_client()
    with record_mail(app) as outbox:
        client.post(
            f"/posts/{slug}/comments",
            data={
                "name": "Ana",
                "email": "ana@example.org",
                "body": "Please approve me",
                "csrf_token": csrf_token(client),
            },
        )
    (message,) = outbox
    approve = re.search(r"Approve: (\S+)", message.body).group(1)
    with app.app_context():
        comment_id = db.session.scalar(select(Comment.id))
    return approve.split("localhost", 1)[1], comment_id, slug


def test_an_old_moderation_link_for_a_deleted_comment_says_410(app, mailed_link):
    path, comment_id, _ = mailed_link
    with app.app_context():
        post = db.session.get(Comment, comment_id).post
        db.session.execute(delete(Comment))
        db.session.commit()
        successor = make_comment(post, "Someone else's words")
        assert successor.id != comment_id
    client = app.test_client()
    AuthActions(client).login("writer")
    assert client.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": csrf_token(client, "/")}).status_code == 410
    with app.app_context():
        assert db.session.scalar(select(Comment.status)) == "approved"  # untouched


def test_a_link_for_an_id_that_now_names_another_comment_says_410(app, mailed_link):
    """A restore or import can put another row under the old id: the stamp tells them apart."""
    path, comment_id, _ = mailed_link
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        post = comment.post
        db.session.delete(comment)
        db.session.commit()
        make_comment(post, "A successor under the same id", status="pending", id=comment_id)
    client = app.test_client()
    AuthActions(client).login("writer")
    assert client.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": csrf_token(client, "/")}).status_code == 410
    with app.app_context():
        assert db.session.get(Comment, comment_id).status == "pending"


def test_an_unsubscribe_link_for_a_deleted_account_says_410(app):
    with app.app_context():
        user = make_user("leaver")
        token = notifications.unsubscribe_token(user, "replies")
        db.session.delete(user)
        db.session.commit()
        make_user("newcomer")
    response = app.test_client().get(f"/comments/unsubscribe/{token}")
    assert response.status_code == 410
    assert "no longer exists" in response.text


def test_migration_keeps_who_wrote_what_and_search(app):
    """0008 rebuilds tables on SQLite with foreign keys off: nothing cascades or is lost."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        author = make_user("writer", role=Role.AUTHOR)
        member = make_user("member")
        post = make_post(author, title="Lanterns on the ward")
        make_comment(post, "Signed comment", user_id=member.id, guest_name="")
        author_id = author.id
        db.session.remove()
        downgrade(revision="0014")
        upgrade()
        row = db.session.execute(select(Comment.user_id, User.username).join(User)).one()
        assert row.username == "member"
        assert db.session.get(User, author_id).username == "writer"
        assert inspect(db.engine).has_table("comments")
        found = app.test_client().get("/search?q=lanterns").text
        assert "Lanterns</mark> on the ward" in found  # highlighted: found
