"""Nobody learns who has an account, and nobody can lock an owner out (issue 15, point 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from blogapp.extensions import db
from blogapp.models import PostStatus, Role, User
from tests.builders import PASSWORD, make_post, make_user
from tests.helpers import CSRF_INPUT, csrf_token, record_mail
from tests.member_roles import own_app

NEW_PASSWORD = "lanterns over the night ward"


def register(client, email: str, username: str):
    data = {
        "username": username,
        "email": email,
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    return client.post("/auth/register", data=data)


def shown(client, response, typed: str) -> tuple:
    """What a person sees: status, where it sends them, and the page there (typed text out)."""
    page = client.get(response.headers["Location"]).text
    return (
        response.status_code,
        response.headers["Location"],
        CSRF_INPUT.sub("", page).replace(typed, "X"),
    )


def test_registering_an_address_that_has_an_account_answers_like_a_new_one(app):
    with app.app_context():
        make_user("carol", email="carol@example.org")
    new, taken = app.test_client(), app.test_client()
    with record_mail(app) as outbox:
        fresh = register(new, "dana@example.org", "dana")
        existing = register(taken, "Carol@example.org", "not_carol")  # any case: one address
    assert shown(new, fresh, "dana@example.org") == shown(taken, existing, "Carol@example.org")
    assert [(m.recipients, m.subject) for m in outbox] == [
        (["dana@example.org"], "Confirm your email address"),
        (["carol@example.org"], "Someone tried to register with your email address"),
    ]
    assert "carol" in outbox[1].body and "/auth/reset" in outbox[1].body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2  # carol, dana
        assert db.session.scalar(select(User).where(User.username == "not_carol")) is None


def test_reset_answers_the_same_for_an_account_a_stranger_and_a_suspended_one(app):
    with app.app_context():
        make_user("carol")
        make_user("banned", suspended=True)
    pages = []
    for email in ("carol@example.org", "nobody@example.org", "banned@example.org"):
        client = app.test_client()
        response = client.post(
            "/auth/reset", data={"email": email, "csrf_token": csrf_token(client, "/auth/reset")}
        )
        pages.append(shown(client, response, email))
    assert pages[0] == pages[1] == pages[2]


def test_author_pages_exist_only_for_people_who_have_published(app, client):
    with app.app_context():
        make_user("member_mo")
        make_user("quiet_author", role=Role.AUTHOR)
        drafter = make_user("drafter", role=Role.AUTHOR)
        make_post(drafter, title="Only a draft", status=PostStatus.DRAFT)
        make_post(make_user("writer", role=Role.AUTHOR), title="Out there")
    assert client.get("/author/writer").status_code == 200
    for name in ("member_mo", "quiet_author", "drafter", "nobody_at_all"):
        assert client.get(f"/author/{name}").status_code == 404, name


# -- the per-account sign-in limit -----------------------------------------------------------


@pytest.fixture
def limited(database_url):
    with own_app(
        database_url, RATELIMIT_ENABLED=True, RATELIMIT_SIGNIN_ACCOUNT="3 per hour"
    ) as app:
        with app.app_context():
            make_user("carol")
        yield app


def sign_in(client, login: str, password: str, address: str):
    return client.post(
        "/auth/login",
        data={"login": login, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def test_username_and_email_count_as_one_account(limited):
    client = limited.test_client()
    for login in ("carol", "CAROL@example.org", "Carol"):
        assert sign_in(client, login, "wrong password!", "198.51.100.7").status_code == 400
    assert sign_in(client, "carol@example.org", PASSWORD, "198.51.100.7").status_code == 429


def test_failures_from_other_addresses_cannot_lock_the_owner_out(limited):
    attacker = limited.test_client()
    for n in range(6):
        sign_in(attacker, "carol", f"guess number {n}", f"203.0.113.{n}")
    # Each address that failed is held back now, even with the right password...
    assert sign_in(attacker, "carol", PASSWORD, "203.0.113.1").status_code == 429
    # ...but the owner, from an address that never failed, signs in.
    owner = limited.test_client()
    response = sign_in(owner, "carol", PASSWORD, "192.0.2.50")
    assert response.status_code == 302
    assert "carol" in owner.get("/account").text
