"""Backups: back up, wipe, restore, and every post, comment and user is identical."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from blogapp import backup
from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, PostStatus, Setting, Subscription, User
from tests.builders import make_category, make_comment, make_post, make_user

# Text that trips up naive dumps: quotes, markup, emoji, RTL, NUL-free control characters.
AWKWARD = "Nurses’ “night shift” <b>&amp;</b> 💉 مرحبا \t tabs \\ backslash"


def build_content() -> dict:
    """A small but complete blog: users of every role, posts, tags, threads, settings."""
    admin = make_user("boss", role="admin", bio=AWKWARD)
    author = make_user("writer", role="author", display_name="Wren Writer")
    member = make_user("member", notify_replies=True)
    unconfirmed = make_user("newbie", confirmed=False)
    make_user("banned", suspended=True, session_version=3)
    news = make_category("News")
    post = make_post(
        author,
        title="Shift swaps " + AWKWARD,
        body="## One\n\ntext\n\n## Two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Three\n",
        tags=["Night shift", "Care"],
        category=news,
        review_history_note="Reviewed by Dr. Ada, RN on 2026-01-02",
        excerpt="An excerpt",
    )
    make_post(author, title="A draft", status=PostStatus.DRAFT)
    make_post(admin, title="Later", status=PostStatus.SCHEDULED, published_ago=-timedelta(days=2))
    first = add_comment(post, "First *comment*", user=member)
    reply = add_comment(post, "A reply " + AWKWARD, user=author, parent=first)
    add_comment(post, "Reply to a reply", parent=reply, guest_name="Gus", status="pending")
    add_comment(post, "spam spam", guest_name="Spammer", status=CommentStatus.SPAM)
    gone = add_comment(post, "removed", user=unconfirmed, status=CommentStatus.DELETED)
    gone.edited_at = gone.created_at + timedelta(minutes=3)
    db.session.add(Subscription(user_id=member.id, post_id=post.id))
    db.session.add(Setting(key="moderation_words", value="casino\nviagra"))
    db.session.commit()
    return {"post": post.slug}


def add_comment(post, body, user=None, parent=None, status=CommentStatus.APPROVED, **guest):
    if guest:
        guest.setdefault("guest_email", f"{guest['guest_name'].lower()}@example.org")
    return make_comment(post, body, status, parent, user=user, ip="203.0.113.0", **guest)


def wipe() -> None:
    db.session.remove()
    with db.engine.begin() as connection:
        for table in reversed(backup.data_tables()):
            connection.execute(delete(table))


def table_contents() -> dict:
    return backup.export_data()["tables"]


def test_export_and_import_json_round_trip(app, runner, tmp_path):
    dump = tmp_path / "export.json"
    with app.app_context():
        slug = build_content()["post"]
        before = table_contents()
    result = runner.invoke(args=["export", str(dump)])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output

    with app.app_context():
        wipe()
        assert db.session.scalar(select(Post).where(Post.slug == slug)) is None
    assert app.test_client().get(f"/posts/{slug}").status_code == 404

    result = runner.invoke(args=["import-json", str(dump)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        after = table_contents()
        # The audit log travels in the export (with its export entry); the import adds one.
        logged = after.pop("audit_log")["rows"]
        before.pop("audit_log")
        assert [row[4] for row in logged] == ["export", "import"]
        assert after == before
        before["audit_log"] = logged
        # Every table of the model was in the export, and the interesting ones held rows.
        assert set(before) == {table.name for table in db.metadata.sorted_tables}
        for name in ("users", "posts", "comments", "tags", "post_tags", "categories"):
            assert before[name]["rows"], name
        # New rows still get fresh ids after explicit ids were inserted (PostgreSQL sequences).
        newcomer = make_user("after-restore")
        assert newcomer.id > max(row[0] for row in before["users"]["rows"])
        users = db.session.scalars(select(User).order_by(User.id)).all()
        assert users[0].bio == AWKWARD
    page = app.test_client().get(f"/posts/{slug}")
    assert page.status_code == 200
    assert "Shift swaps" in page.text


def test_export_file_is_plain_json_with_every_comment(app, runner, tmp_path):
    dump = tmp_path / "export.json"
    with app.app_context():
        build_content()
        comment_ids = db.session.scalars(select(Comment.id).order_by(Comment.id)).all()
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0
    data = json.loads(dump.read_text(encoding="utf-8"))
    assert data["format"] == "alliedup-blog-export"
    columns = data["tables"]["comments"]["columns"]
    assert [row[columns.index("id")] for row in data["tables"]["comments"]["rows"]] == comment_ids
    assert data["schema_revision"]


def test_import_refuses_a_database_that_holds_rows(app, runner, tmp_path):
    dump = tmp_path / "export.json"
    with app.app_context():
        build_content()
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0
    result = runner.invoke(args=["import-json", str(dump)])
    assert result.exit_code != 0
    assert "already holds rows" in result.output


def test_import_refuses_a_file_that_is_not_an_export(runner, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}')
    result = runner.invoke(args=["import-json", str(other)])
    assert result.exit_code != 0
    assert "not an export" in result.output


def test_backup_wipe_restore(app, runner, tmp_path):
    """SQLite: an online backup file; PostgreSQL: the JSON export, said so."""
    dest = tmp_path / "blog-backup"
    with app.app_context():
        build_content()
        before = table_contents()
        dialect = db.engine.dialect.name
    result = runner.invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        wipe()
        assert table_contents()["posts"]["rows"] == []
    if dialect == "sqlite":
        assert "SQLite" in result.output
        with sqlite3.connect(dest) as check:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        result = runner.invoke(args=["restore", str(dest)])
    else:
        assert "JSON export" in result.output
        result = runner.invoke(args=["import-json", str(dest)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        after = table_contents()
        # PostgreSQL's backup is an export and its import a restore: both are audited.
        after.pop("audit_log"), before.pop("audit_log")
        assert after == before
        assert db.session.scalar(select(Post).where(Post.title == "A draft")) is not None


def test_backup_will_not_overwrite(app, runner, tmp_path):
    dest = tmp_path / "exists"
    dest.write_text("precious")
    result = runner.invoke(args=["backup", str(dest)])
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert dest.read_text() == "precious"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_backup_is_a_snapshot(app, tmp_path):
    """The online backup copies the database as it was; later writes are not in it."""
    with app.app_context():
        author = make_user(role="author")
        for n in range(20):
            make_post(author, title=f"Before {n}")
        backup.sqlite_backup(tmp_path / "copy.sqlite3")
        make_post(author, title="After the backup")
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        titles = {row[0] for row in copy.execute("SELECT title FROM posts")}
    assert {f"Before {n}" for n in range(20)} <= titles
    assert "After the backup" not in titles
