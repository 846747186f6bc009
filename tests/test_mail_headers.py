"""Header values can't break mail: titles and names are one line, whoever saves them."""

from __future__ import annotations

from sqlalchemy import select

from blogapp.extensions import db, mail
from blogapp.models import Comment, Post, Role, User
from tests.builders import make_post, make_user
from tests.helpers import AuthActions, csrf_token, deliver_mail
from tests.member_roles import own_app

FORGED = "Night shift\r\nBcc: everyone@example.org\u2028X-Evil: 1"


def test_a_title_typed_with_line_breaks_is_saved_as_one_line(app, client):
    with app.app_context():
        make_user("writer", role=Role.AUTHOR)
    AuthActions(client).login("writer")
    response = client.post(
        "/posts/new",
        data={
            "kind": "post",
            "title": FORGED,
            "body": "Words.",
            "category": "",
            "tags": "",
            "publish": "Publish",
            "csrf_token": csrf_token(client, "/posts/new"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    with app.app_context():
        title = db.session.scalar(select(Post.title))
    assert title == "Night shift Bcc: everyone@example.org X-Evil: 1"


def test_a_display_name_and_a_guest_name_lose_control_characters(app, client):
    with app.app_context():
        user = make_user("mia", display_name="Mia\nBcc: x@example.org")
        assert user.display_name == "Mia Bcc: x@example.org"
        post = make_post(title="Plain")
        slug = post.slug
    response = client.post(
        f"/posts/{slug}/comments",
        data={
            "name": "Ana\r\nBcc: x@example.org",
            "email": "ana@example.org",
            "body": "Thank you",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Comment.guest_name)) == "Ana Bcc: x@example.org"


def test_comments_on_a_post_with_an_imported_broken_title_are_posted_and_mailed(database_url):
    """The title came from an import (no form): commenting and the notice still work."""
    # An SMTP port nobody listens on: the request only queues; sending never fails it.
    with own_app(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=9) as app:
        with app.app_context():
            writer = make_user("writer", role=Role.AUTHOR)
            post = make_post(writer, title=FORGED)
            slug = post.slug
        client = app.test_client()
        response = client.post(
            f"/posts/{slug}/comments",
            data={
                "name": "Ana",
                "email": "ana@example.org",
                "body": "Thank you",
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code == 302
        app.config.update(MAIL_SERVER=None, MAIL_SUPPRESS_SEND=True)
        with mail.record_messages() as outbox:
            deliver_mail(app)
        (message,) = outbox
        assert "\r" not in message.subject and "\n" not in message.subject
        assert "Bcc" in message.subject and message.bcc == []
        with app.app_context():
            assert db.session.scalar(select(User.email).where(User.username == "writer"))


def test_the_email_module_cleans_headers_whoever_calls_it(app):
    """The last line of defence: a subject, an address or a header value with CR/LF (from a
    caller that skipped the one-line rule) goes out as one line, and the mail is sent."""
    from blogapp.email import queue_email

    with app.app_context():
        queue_email(
            "ana@example.org\r\nBcc: everyone@example.org",
            FORGED,
            "Hello",
            headers={"List-Unsubscribe": "<https://x.example/u>\r\nX-Evil: 1"},
        )
        db.session.commit()
        with mail.record_messages() as sent:
            deliver_mail(app)
        (message,) = sent
        assert message.subject == "Night shift Bcc: everyone@example.org X-Evil: 1"
        assert message.recipients == ["ana@example.org Bcc: everyone@example.org"]
        raw = message.as_string()
    assert "\nBcc:" not in raw and "\nX-Evil:" not in raw
