"""/admin/users: search people, change roles, suspend and reinstate; the last admin stays."""

from __future__ import annotations

import pytest

from blogapp.extensions import db
from blogapp.models import Role, User
from tests.builders import make_user
from tests.helpers import AuthActions, csrf_token, post_form
from tests.member_roles import sign_in_as


def load(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.fixture
def target(app):
    with app.app_context():
        return make_user("target_tom").id


# Who may open and use these pages (every role) is the permission matrix's, which also
# checks that a refused request changes nothing; here, what an admin's actions do.


def test_users_page_for_admins(app, client, auth):
    sign_in_as(app, client, auth, "admin")
    response = client.get("/admin/users")
    assert response.status_code == 200 and "<h1>Users</h1>" in response.text


@pytest.mark.parametrize(
    "action, data", [("role", {"role": "admin"}), ("suspend", {}), ("reinstate", {})]
)
def test_user_changes_by_an_admin(app, client, auth, target, action, data):
    with app.app_context():
        make_user("other_admin", role=Role.ADMIN)  # so the signed-in admin isn't the last
    sign_in_as(app, client, auth, "admin")
    if action == "reinstate":
        with app.app_context():
            db.session.get(User, target).suspended = True
            db.session.commit()
    data = data | {"csrf_token": csrf_token(client)}
    response = client.post(f"/admin/users/{target}/{action}", data=data)
    user = load(app, target)
    assert response.status_code == 302
    assert {
        "role": user.role == "admin",
        "suspend": user.suspended,
        "reinstate": not user.suspended,
    }[action]


@pytest.fixture
def admin(app, auth):
    with app.app_context():
        user_id = make_user("root", role=Role.ADMIN).id
    auth.login("root")
    return user_id


def test_search_finds_by_username_email_or_name(app, client, admin):
    with app.app_context():
        make_user("nurse_ann", display_name="Ann Rivera")
        make_user("doc_bob", email="robert@clinic.example")
        make_user("percent_100")
    page = client.get("/admin/users?q=ANN").text
    assert "nurse_ann" in page and "doc_bob" not in page
    page = client.get("/admin/users?q=clinic.example").text
    assert "doc_bob" in page and "nurse_ann" not in page
    page = client.get("/admin/users?q=rivera").text
    assert "nurse_ann" in page
    page = client.get("/admin/users?q=%25").text  # a literal %, not a wildcard
    assert "No users match" in page
    assert client.get("/admin/users?q=" + "x" * 5000).status_code == 200
    page = client.get("/admin/users").text
    assert page.count('id="csrf_token"') <= 1  # many row forms, no duplicate ids
    assert "Role for nurse_ann</label>" in page
    assert ">Change role<" in page
    # The username is for screen readers: on screen the row says whose it is.
    assert '>Suspend<span class="visually-hidden"> nurse_ann</span></button>' in page


def test_admin_promotes_and_demotes(app, client, admin, target):
    response = post_form(client, f"/admin/users/{target}/role", {"role": "author", "q": "tom"})
    assert response.headers["Location"] == "/admin/users?q=tom"
    assert load(app, target).role == "author"
    assert "target_tom is now an author." in client.get("/admin/users?q=tom").text
    post_form(client, f"/admin/users/{target}/role", {"role": "member"})
    assert load(app, target).role == "member"


@pytest.mark.parametrize("role", ["owner", "", "ADMIN "])
def test_unknown_roles_are_refused(app, client, admin, target, role):
    response = post_form(client, f"/admin/users/{target}/role", {"role": role})
    assert response.status_code == 400
    assert load(app, target).role == "member"


def test_unknown_user_is_404(app, client, admin):
    assert post_form(client, "/admin/users/99999/suspend").status_code == 404


def test_suspension_ends_the_users_sessions_and_reinstating_lets_them_back(
    app, client, admin, target
):
    tom = app.test_client()
    AuthActions(tom).login("target_tom", remember=True)
    assert tom.get("/account").status_code == 200
    post_form(client, f"/admin/users/{target}/suspend")
    assert "Suspended" in client.get("/admin/users").text
    assert tom.get("/account").status_code == 302
    tom.delete_cookie("session")
    assert tom.get("/account").status_code == 302
    assert AuthActions(tom).login("target_tom").status_code == 403
    post_form(client, f"/admin/users/{target}/reinstate")
    assert load(app, target).suspended is False
    assert AuthActions(tom).login("target_tom").status_code == 302


def test_the_last_admin_cannot_be_demoted_or_suspended(app, client, admin):
    response = post_form(
        client, f"/admin/users/{admin}/role", {"role": "member"}, follow_redirects=True
    )
    assert "at least one admin" in response.text
    assert load(app, admin).role == "admin"
    response = post_form(client, f"/admin/users/{admin}/suspend", follow_redirects=True)
    assert "can&#39;t suspend yourself" in response.text
    assert load(app, admin).suspended is False


def test_an_admin_can_step_down_when_another_admin_remains(app, client, admin):
    with app.app_context():
        other = make_user("second", role=Role.ADMIN).id
    post_form(client, f"/admin/users/{admin}/role", {"role": "author"})
    assert load(app, admin).role == "author"
    assert client.get("/admin/users").status_code == 403
    AuthActions(client).logout()
    AuthActions(client).login("second")
    response = post_form(
        client, f"/admin/users/{other}/role", {"role": "member"}, follow_redirects=True
    )
    assert "at least one admin" in response.text


def test_create_user_command_makes_the_first_admin(app, runner, client):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Boss@Example.org",
            "--username",
            "boss",
            "--role",
            "admin",
            "--password",
            "a long admin passphrase",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss" in result.output
    assert AuthActions(client).login("boss", password="a long admin passphrase").status_code == 302
    assert client.get("/admin/users").status_code == 200
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "x@example.org",
            "--username",
            "weak",
            "--password",
            "password1234",
        ]
    )
    assert result.exit_code != 0 and "too common" in result.output
