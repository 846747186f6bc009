"""Small leaks (issue 15, point 9) and the form-timing trap only for strangers (point 11)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, PostStatus, Role
from tests.builders import make_post, make_user
from tests.helpers import AuthActions, csrf_token

STAMP = re.compile(r'name="stamp" type="hidden" value="([^"]+)"')


def test_an_author_cannot_read_another_authors_draft_title_through_the_queue(app, client):
    with app.app_context():
        make_user("ana", role=Role.AUTHOR)
        other = make_user("bo", role=Role.AUTHOR)
        draft = make_post(other, title="Secret merger plans", status=PostStatus.DRAFT)
        draft_id = draft.id
    AuthActions(client).login("ana")
    page = client.get(f"/admin/comments?post={draft_id}")
    assert page.status_code == 200
    assert "Secret merger plans" not in page.text


def test_the_queue_still_names_the_post_for_its_own_author(app, client):
    with app.app_context():
        ana = make_user("ana", role=Role.AUTHOR)
        mine = make_post(ana, title="My own draft", status=PostStatus.DRAFT)
        mine_id = mine.id
    AuthActions(client).login("ana")
    assert "My own draft" in client.get(f"/admin/comments?post={mine_id}").text


@pytest.mark.parametrize("path", ["/posts/nothing-here", "/admin/users", "/comments/999/edit"])
def test_signed_in_error_pages_are_private(app, client, path):
    with app.app_context():
        make_user("mia")
    AuthActions(client).login("mia")
    response = client.get(path)
    assert response.status_code >= 400
    assert "private" in response.headers.get("Cache-Control", ""), response.headers


def test_anonymous_error_pages_stay_shareable(client):
    response = client.get("/posts/nothing-here")
    assert response.status_code == 404
    assert "private" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("command", ["export", "backup"])
def test_export_and_backup_files_are_readable_by_their_owner_only(app, runner, tmp_path, command):
    with app.app_context():
        make_user("mia")
    dest = tmp_path / f"{command}.out"
    result = runner.invoke(args=[command, str(dest)])
    assert result.exit_code == 0, result.output
    assert dest.stat().st_mode & 0o777 == 0o600


def test_a_suspended_member_cannot_comment_as_a_guest(app, client):
    with app.app_context():
        make_user("banned", email="banned@example.org", suspended=True)
        slug = make_post(title="Open thread").slug
    response = client.post(
        f"/posts/{slug}/comments",
        data={
            "name": "Not me",
            "email": "Banned@Example.org",
            "body": "I'm back",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 403
    assert "suspended" in response.text
    assert "I&#39;m back" in response.text  # what they typed comes back
    with app.app_context():
        assert db.session.scalar(select(Comment)) is None


# -- point 11: the timing trap is for strangers ---------------------------------------------


def post_at_once(client, slug: str, body: str, **extra):
    """Send the comment form straight back, as a fast typist (or a pasted reply) would."""
    page = client.get(f"/posts/{slug}").text
    data = {"body": body, "stamp": STAMP.search(page).group(1), "csrf_token": csrf_token(client)}
    return client.post(f"/posts/{slug}/comments", data={**data, **extra})


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_a_signed_in_confirmed_member_is_never_silently_binned(app, client, role):
    app.config["COMMENT_MIN_SECONDS"] = 3
    with app.app_context():
        make_user("quick", role=role)
        slug = make_post(title="Fast thread").slug
    AuthActions(client).login("quick")
    response = post_at_once(client, slug, "Posted in a second")
    assert response.status_code == 302
    with app.app_context():
        status = db.session.scalar(select(Comment.status))
    assert status == CommentStatus.APPROVED
    assert "Posted in a second" in client.get(f"/posts/{slug}").text


def test_a_stranger_posting_at_once_is_still_binned(app, client):
    app.config["COMMENT_MIN_SECONDS"] = 3
    with app.app_context():
        slug = make_post(title="Fast thread").slug
    post_at_once(client, slug, "Bot text", name="Bot", email="bot@example.org")
    with app.app_context():
        assert db.session.scalar(select(Comment.status)) == CommentStatus.SPAM
