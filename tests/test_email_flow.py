"""Real email: the app talks SMTP to a local aiosmtpd server; tests follow the links received."""

from __future__ import annotations

import pytest

from tests.builders import make_user
from tests.helpers import AuthActions, csrf_token, post_form
from tests.mailsink import app_mailing_to, html_of, link_path, smtp_server, text_of

NEW_PASSWORD = "lanterns over the night ward"


@pytest.fixture
def mail_app(database_url, tmp_path):
    """The app sending real mail to a local SMTP server; yields (app, inbox)."""
    with smtp_server() as (inbox, port):
        sender = "AlliedUP Co-op Blog <blog@alliedup.example>"
        with app_mailing_to(port, database_url, MAIL_DEFAULT_SENDER=sender) as app:
            yield app, inbox


def test_sign_up_mail_arrives_and_its_link_confirms(mail_app):
    app, inbox = mail_app
    client = app.test_client()
    response = post_form(
        client,
        "/auth/register",
        {
            "username": "ward_nurse",
            "email": "ward.nurse@example.org",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    message = inbox.last("ward.nurse@example.org", "Confirm your email address")
    assert message["From"] == "AlliedUP Co-op Blog <blog@alliedup.example>"
    assert "Hello ward_nurse" in text_of(message)
    assert "<a href=" in html_of(message)
    path = link_path(message)
    page = client.get(path)
    assert page.status_code == 200 and ">Confirm email</button>" in page.text
    response = post_form(client, path, {"csrf_token": csrf_token(client, path)})
    assert response.headers["Location"] == "/auth/login"  # registering signs nobody in
    post_form(client, "/auth/login", {"login": "ward_nurse", "password": NEW_PASSWORD})
    assert "(confirmed)" in client.get("/account").text


def test_reset_mail_arrives_and_its_link_sets_the_password(mail_app):
    app, inbox = mail_app
    with app.app_context():
        make_user("carol")
    client = app.test_client()
    post_form(client, "/auth/reset", {"email": "carol@example.org"})
    message = inbox.last("carol@example.org", "Reset your password")
    assert "one hour" in text_of(message)
    path = link_path(message)
    response = client.post(
        path,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(client, path),
        },
    )
    assert response.headers["Location"] == "/auth/login"
    assert AuthActions(client).login("carol", password=NEW_PASSWORD).status_code == 302
    assert client.get(path).status_code == 400  # used once


def test_unknown_address_gets_no_mail(mail_app):
    app, inbox = mail_app
    client = app.test_client()
    response = post_form(client, "/auth/reset", {"email": "ghost@example.org"})
    assert response.status_code == 302
    with app.app_context():
        make_user("carol")
    post_form(client, "/auth/reset", {"email": "carol@example.org"})
    inbox.wait_for(1)
    assert [m["To"] for m in inbox.messages] == ["carol@example.org"]
