"""The README's "First steps" as a newcomer follows them: sign in, write, moderate, settings."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

from blogapp import create_app
from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, User
from tests import helpers
from tests.helpers import csrf_token, post_form
from tests.test_site_settings import save

README = Path(__file__).resolve().parent.parent / "README.md"
PASSWORD = "a long demo password 2026"


@pytest.fixture
def app(database_url, tmp_path):
    """The test app with the real two-factor rule (staff must enrol), as a newcomer has it."""
    app = create_app(
        helpers.test_config(
            database_url, upload_dir=tmp_path / "uploads", TWO_FACTOR_REQUIRED_ROLES=None
        )
    )
    yield app
    helpers.empty_tables(app)


def seed(runner) -> str:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_prints_a_one_time_link_to_set_the_demo_admins_password(app, runner):
    output = seed(runner)
    assert "demo admin admin" in output  # created
    link = re.search(r"http://localhost/auth/reset/\S+", output).group(0)  # from SITE_URL
    assert "Then sign in at http://localhost/auth/login as admin" in output
    client = app.test_client()
    path = urlsplit(link).path
    assert "New password" in client.get(path).text
    response = post_form(
        client,
        path,
        {"password": PASSWORD, "confirm": PASSWORD, "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 302
    assert client.get(path).status_code == 400  # one time only
    # Run again: nothing created, and no new link now that the admin has a password.
    again = seed(runner)
    assert "Demo content already present." in again and "/auth/reset/" not in again
    assert "Sign in at http://localhost/auth/login" in again


def test_the_first_steps_work_as_written(app, runner):
    readme = README.read_text(encoding="utf-8")
    steps = readme.split("## First steps", 1)[1].split("\n## ", 1)[0]
    for words in ("seed-demo", "admin", "Write", "Publish", "Comments", "Approve", "Settings"):
        assert words in steps, words
    # 1. Sign in: the link seed-demo printed, a password, then the sign-in form.
    link = re.search(r"http://localhost(/auth/reset/\S+)", seed(runner)).group(1)
    admin = app.test_client()
    post_form(
        admin,
        link,
        {"password": PASSWORD, "confirm": PASSWORD, "csrf_token": csrf_token(admin, link)},
    )
    response = post_form(admin, "/auth/login", {"login": "admin", "password": PASSWORD})
    assert response.status_code == 302
    # The first staff page asks for two-factor sign-in: set up an authenticator app.
    response = admin.get("/posts/new")
    assert response.headers["Location"] == "/account/security"
    security = admin.get("/account/security").text
    assert "Set up an authenticator app" in security
    post_form(
        admin,
        "/account/security/totp/start",
        {"csrf_token": csrf_token(admin, "/account/security")},
    )
    enrol = admin.get("/account/security/totp").text
    secret = re.search(r'data-secret="([A-Z2-7]+)"', enrol).group(1)  # the key shown
    response = post_form(
        admin,
        "/account/security/totp",
        {
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_token(admin, "/account/security/totp"),
        },
    )
    assert "Two-factor sign-in is on." in response.text
    home = admin.get("/").text
    assert "The AlliedUP Co-op Blog" in home and "Empathy in Action" in home
    for link_text in ("Write", "Dashboard", "Comments", "Users", "Categories", "Settings"):
        assert f">{link_text}" in home, link_text
    # 2. Write: Write in the header, a title and a body, Publish.
    form = {
        "kind": "post",
        "title": "Our first shift report",
        "body": "Hello from the co-op.",
        "category": "",
        "publish": "Publish",
    }
    assert post_form(admin, "/posts/new", form).status_code == 302
    assert "Our first shift report" in app.test_client().get("/").text
    # 3. Moderate: a guest comments (held), Comments in the header shows it waiting, Approve.
    reader = app.test_client()
    post_form(
        reader,
        "/posts/our-first-shift-report/comments",
        {"name": "Ana", "email": "ana@example.org", "body": "Thanks for sharing."},
    )
    assert re.search(r"Comments <span[^>]*>1<", admin.get("/").text)
    with app.app_context():
        held = db.session.scalar(select(Comment.id).where(Comment.status == CommentStatus.PENDING))
    queue = admin.get("/admin/comments").text
    assert "Thanks for sharing." in queue
    post_form(admin, "/admin/comments", {"row": f"approve:{held}"})
    assert "Thanks for sharing." in app.test_client().get("/posts/our-first-shift-report").text
    # 4. Settings: change the tagline; every page shows it at once.
    assert save(admin, tagline="Worker-owned, patient-first.").status_code == 302
    assert "Worker-owned, patient-first." in app.test_client().get("/").text
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.username == "admin")) == "admin"
