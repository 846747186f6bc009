"""The member's own account pages, and who may open them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Comment, Role, User
from tests.builders import PASSWORD, make_comment, make_post, make_user
from tests.helpers import AuthActions, csrf_token, post_form, record_mail
from tests.member_roles import sign_in_as
from tests.test_auth import NEW_PASSWORD, link_in

ACCOUNT_PAGES = [
    "/account",
    "/account/password",
    "/account/email",
    "/account/export",
    "/account/delete",
    "/auth/confirm",
]


# Who may open these pages at all (every role, GET and POST) is the permission matrix's
# (tests/test_permissions_matrix.py); here, what the people let in see.


@pytest.mark.parametrize("who", ["unconfirmed", "member"])
@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_account_pages_open_for_their_owner(app, client, auth, who, path):
    sign_in_as(app, client, auth, who)
    response = client.get(path)
    if path == "/auth/confirm" and who != "unconfirmed":
        assert response.status_code == 302 and response.headers["Location"] == "/account"
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("who", ["member", "admin"])
@pytest.mark.parametrize(
    "path", ["/account", "/account/password", "/account/email", "/account/delete"]
)
def test_account_forms_sent_empty(app, client, auth, who, path):
    sign_in_as(app, client, auth, who)
    response = client.post(path, data={"csrf_token": csrf_token(client)})
    if path == "/account":
        assert response.status_code == 302  # an empty profile is a valid profile
    elif who == "admin" and path == "/account/delete":
        assert response.status_code == 409 and "only admin" in response.text
    else:
        assert response.status_code == 400  # allowed in, and told what the form is missing
        assert "This field is required." in response.text


@pytest.fixture
def carol(app, auth):
    with app.app_context():
        user = make_user("carol")
        user_id = user.id
    auth.login("carol")
    return user_id


def load(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is not None:
            db.session.expunge(user)
        return user


def test_profile_saves_a_sanitized_bio_and_display_name(app, client, carol):
    page = client.get("/account").text
    assert ">Display name</label>" in page and ">Short bio</label>" in page
    bio = "Night-shift **RN**. <script>alert(1)</script> [site](javascript:alert(2))"
    response = post_form(client, "/account", {"display_name": "Carol P.", "bio": bio})
    assert response.status_code == 302
    user = load(app, carol)
    assert user.display_name == "Carol P."
    assert "<strong>RN</strong>" in user.bio_html
    assert "<script" not in user.bio_html
    assert "&lt;script&gt;" in user.bio_html  # shown as text, never run
    assert 'href="javascript' not in user.bio_html
    assert "Carol P." in client.get("/").text  # the header shows the display name


def test_profile_refuses_a_long_bio_keeping_it(app, client, carol):
    bio = "I care. " * 80
    response = post_form(client, "/account", {"display_name": "Carol", "bio": bio})
    assert response.status_code == 400
    assert "Field cannot be longer than 500 characters." in response.text
    assert bio.strip() in response.text
    assert load(app, carol).bio == ""


def test_password_change_needs_the_current_one(app, client, carol):
    response = post_form(
        client,
        "/account/password",
        {"current": "wrong wrong wrong", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "That isn&#39;t your current password." in response.text


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, carol):
    phone = app.test_client()
    AuthActions(phone).login("carol", remember=True)
    with record_mail(app) as outbox:
        response = post_form(
            client,
            "/account/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    phone.delete_cookie("session")
    assert phone.get("/account").status_code == 302
    assert [m.subject for m in outbox] == ["Your password was changed"]
    assert AuthActions(phone).login("carol", password=NEW_PASSWORD).status_code == 302


def test_email_change_takes_effect_only_when_the_new_address_confirms(app, client, carol):
    with record_mail(app) as outbox:
        response = post_form(
            client, "/account/email", {"email": "Carol.New@Example.org", "current": PASSWORD}
        )
    assert response.status_code == 302
    to_new, notice = outbox
    assert to_new.recipients == ["Carol.New@example.org"]
    assert notice.recipients == ["carol@example.org"] and "Carol.New@example.org" in notice.body
    assert load(app, carol).email == "carol@example.org"
    path = link_in(to_new)
    page = client.get(path).text
    assert "Carol.New@example.org".lower() in page.lower() and ">Confirm email</button>" in page
    post_form(client, path, {"csrf_token": csrf_token(client, path)})
    user = load(app, carol)
    assert user.email == "carol.new@example.org" and user.is_confirmed
    assert client.get(path).status_code == 400  # a used change link is dead
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    assert AuthActions(client).login("carol.new@example.org").status_code == 302


def test_email_change_refuses_wrong_password_and_taken_addresses(app, client, carol):
    with app.app_context():
        make_user("dave")
    response = post_form(
        client, "/account/email", {"email": "x@example.org", "current": "nope nope"}
    )
    assert response.status_code == 400 and 'value="x@example.org"' in response.text
    with record_mail(app) as outbox:
        post_form(client, "/account/email", {"email": "free@example.org", "current": PASSWORD})
    path = link_in(outbox[0])
    with app.app_context():
        make_user("erin", email="free@example.org")  # someone took it meanwhile
    response = post_form(client, path, {"csrf_token": csrf_token(client, path)})
    assert response.status_code == 409
    assert "already belongs to another account" in response.text
    assert load(app, carol).email == "carol@example.org"


def test_export_downloads_profile_and_comments(app, client, carol):
    with app.app_context():
        make_comment(make_post(title="Night shifts"), "Thanks for this!", user_id=carol)
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert 'attachment; filename="carol-data.json"' == response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["profile"]["username"] == "carol"
    assert data["profile"]["email"] == "carol@example.org"
    assert "password" not in json.dumps(data)
    assert data["comments"][0]["body"] == "Thanks for this!"
    assert data["comments"][0]["post_title"] == "Night shifts"


def test_delete_account_asks_for_password_and_keeps_comments_as_former_member(app, client, carol):
    with app.app_context():
        make_comment(make_post(title="Night shifts"), "Thanks!", user_id=carol)
    page = client.get("/account/delete").text
    assert ">Password</label>" in page and ">Delete my account</button>" in page
    response = post_form(client, "/account/delete", {"current": "not my password"})
    assert response.status_code == 400 and load(app, carol) is not None
    response = post_form(client, "/account/delete", {"current": PASSWORD})
    assert response.status_code == 302
    assert load(app, carol) is None
    assert ">Sign in</a>" in client.get("/").text
    with app.app_context():
        comment = db.session.scalar(select(Comment))
        assert comment.user_id is None and comment.author_name == "former member"
        assert comment.body_md == "Thanks!"
    assert AuthActions(client).login("carol").status_code == 400


def test_the_only_admin_and_authors_with_posts_cannot_delete_themselves(app, client, auth):
    with app.app_context():
        make_user("root", role=Role.ADMIN)
        writer = make_user("writer", role=Role.AUTHOR)
        make_post(writer)
    auth.login("root")
    response = post_form(client, "/account/delete", {"current": PASSWORD})
    assert response.status_code == 409 and "only admin" in response.text
    auth.logout()
    auth.login("writer")
    response = post_form(client, "/account/delete", {"current": PASSWORD})
    assert response.status_code == 409 and "You have written posts" in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "writer")) is not None
