"""Signing up, confirming, signing in and out, resetting a password: through HTTP."""

from __future__ import annotations

import re
import time
import uuid

import itsdangerous.timed
import pytest
from sqlalchemy import select

from blogapp import create_app
from blogapp.extensions import db
from blogapp.models import OutboxMessage, User, utcnow
from tests import helpers
from tests.builders import PASSWORD, make_user
from tests.helpers import csrf_token, post_form, record_mail
from tests.member_roles import own_app
from tests.servers import REDIS_URL, redis_or_missing

NEW_PASSWORD = "a brand new passphrase for me"
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]+"')
LINK = re.compile(r"http://localhost(/auth/(?:confirm|reset)/[A-Za-z0-9_.\-]+)")


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    assert match.group(0) in message.html  # the HTML part carries the same link
    return match.group(1)


def get_user(app, **where) -> User | None:
    with app.app_context():
        ((key, value),) = where.items()
        user = db.session.scalar(select(User).where(getattr(User, key) == value))
        if user is not None:
            db.session.expunge(user)
        return user


def same_page(html: str, typed: str) -> str:
    """The page without what the person typed and without its (time-stamped) CSRF tokens."""
    return CSRF_VALUE.sub("", html.replace(typed, "X"))


def register(
    client,
    username="nurse_ann",
    email="Ann@Example.org",
    password=NEW_PASSWORD,
    confirm=None,
    sign_in=True,
):
    """Register; then sign in as a person does next (registering signs nobody in)."""
    data = {
        "username": username,
        "email": email,
        "password": password,
        "confirm": password if confirm is None else confirm,
    }
    response = post_form(client, "/auth/register", data)
    if sign_in and response.status_code == 302:
        post_form(client, "/auth/login", {"login": username, "password": password})
    return response


# --- registration --------------------------------------------------------------------------


def test_register_creates_unconfirmed_member_and_mails_a_link(app, client):
    page = client.get("/auth/register").text
    for label in ("Username", "Email", "Password", "Confirm password"):
        assert f">{label}</label>" in page
    assert ">Create account</button>" in page
    with record_mail(app) as outbox:
        response = register(client, sign_in=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/account").status_code == 302  # not signed in yet
    post_form(client, "/auth/login", {"login": "nurse_ann", "password": NEW_PASSWORD})
    assert len(outbox) == 1
    assert outbox[0].recipients == ["Ann@example.org"]
    assert outbox[0].subject == "Confirm your email address"
    assert link_in(outbox[0]).startswith("/auth/confirm/")
    page = client.get("/account").text
    assert "nurse_ann" in page and "(not confirmed yet)" in page
    assert "Resend confirmation email" in page
    user = get_user(app, username_key="nurse_ann")
    assert user.role == "member" and user.confirmed_at is None
    assert user.password_hash and NEW_PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"username": "ab"}, "Use 3 to 30 letters, digits, hyphens or underscores."),
        ({"username": "bad name!"}, "Use 3 to 30 letters, digits, hyphens or underscores."),
        ({"username": "x" * 31}, "Field cannot be longer than 30 characters."),
        ({"email": "not-an-email"}, "An email address must have an @-sign."),
        ({"password": "short pass"}, "Use at least 12 characters."),
        ({"password": "password1234"}, "That password is too common; choose another."),
        (
            {"password": "nurse_ann_is_me", "username": "nurse_ann_is_me"},
            "Don&#39;t use your username or email as a password.",
        ),
        ({"confirm": "something else entirely"}, "The passwords don&#39;t match."),
    ],
)
def test_register_refuses_bad_input_keeping_what_was_typed(app, client, fields, message):
    data = {"username": "nurse_ann", "email": "ann@example.org"} | fields
    response = register(client, **data)
    assert response.status_code == 400
    assert message in response.text
    assert f'value="{data["username"]}"' in response.text
    assert f'value="{data["email"]}"' in response.text
    assert get_user(app, username_key=data["username"].lower()) is None


def test_register_takes_long_unicode_passwords_and_no_composition_rules(app, client):
    password = "ünïcødé 密码 🙂 " * 9  # 135 characters of any Unicode, no digits needed
    assert register(client, password=password).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    assert (
        post_form(client, "/auth/login", {"login": "nurse_ann", "password": password}).status_code
        == 302
    )


@pytest.mark.parametrize(
    "username, email, message",
    [
        ("NURSE_ANN", "other@example.org", "That username is taken."),
        # A taken email is not said: see test_account_privacy.py.
    ],
)
def test_usernames_and_emails_are_unique_ignoring_case(app, client, username, email, message):
    assert register(client).status_code == 302
    other = app.test_client()
    response = register(other, username=username, email=email)
    assert response.status_code == 400
    assert message in response.text
    assert f'value="{username}"' in response.text


# --- email confirmation --------------------------------------------------------------------


def test_confirm_link_shows_a_button_and_only_the_post_confirms(app, client):
    with record_mail(app) as outbox:
        register(client)
    path = link_in(outbox[0])
    anonymous = app.test_client()  # a mail scanner, or the person on another device
    page = anonymous.get(path)
    assert page.status_code == 200
    assert ">Confirm email</button>" in page.text
    assert get_user(app, username_key="nurse_ann").confirmed_at is None
    response = post_form(anonymous, path, {"csrf_token": csrf_token(anonymous, path)})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert get_user(app, username_key="nurse_ann").confirmed_at is not None
    assert "(confirmed)" in client.get("/account").text


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + "xx", lambda t: "nonsense", lambda t: t + "."]
)
def test_forged_confirm_links_are_refused(app, client, mangle):
    with record_mail(app) as outbox:
        register(client)
    token = link_in(outbox[0]).rsplit("/", 1)[1]
    response = client.get(f"/auth/confirm/{mangle(token)}")
    assert response.status_code == 400
    assert "This link doesn" in response.text


def test_confirm_links_expire_after_a_week(app, client, monkeypatch):
    with record_mail(app) as outbox:
        register(client)
    path = link_in(outbox[0])
    later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert client.get(path).status_code == 400


def test_resend_confirmation_sends_a_new_link(app, client):
    register(client)
    with record_mail(app) as outbox:
        response = post_form(
            client, "/auth/confirm", {"csrf_token": csrf_token(client, "/account")}
        )
    assert response.status_code == 302
    assert len(outbox) == 1 and link_in(outbox[0]).startswith("/auth/confirm/")
    assert "We sent a new confirmation link" in client.get("/account").text


def test_resend_needs_sign_in_and_tells_the_confirmed_they_are_done(app, client, auth):
    assert client.get("/auth/confirm").headers["Location"].startswith("/auth/login?next=")
    with app.app_context():
        make_user("confirmed_cara")
    auth.login("confirmed_cara")
    response = client.get("/auth/confirm", follow_redirects=True)
    assert "already confirmed" in response.text


# --- signing in and out --------------------------------------------------------------------


@pytest.mark.parametrize("login", ["carol", "CAROL", "carol@example.org", " Carol@Example.org "])
def test_sign_in_with_username_or_email_in_any_case(app, client, auth, login):
    with app.app_context():
        make_user("carol")
    response = auth.login(login)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").text
    assert "carol" in page and ">Sign out</button>" in page and ">Account</a>" in page


def test_failed_sign_in_says_the_same_for_unknown_user_and_wrong_password(app, client, auth):
    with app.app_context():
        make_user("carol")
    unknown = auth.login("nobody@example.org")
    wrong = auth.login("carol", password="not the right password")
    assert unknown.status_code == wrong.status_code == 400
    message = "That email/username and password don&#39;t match an account."
    assert message in unknown.text and message in wrong.text
    assert same_page(unknown.text, "nobody@example.org") == same_page(wrong.text, "carol")


def test_unknown_account_costs_a_password_hash(app, client, monkeypatch):
    from blogapp.models import User as UserModel

    checked = []
    original = UserModel.check_password
    monkeypatch.setattr(
        UserModel, "check_password", lambda self, pw: checked.append(pw) or original(self, pw)
    )
    post_form(client, "/auth/login", {"login": "ghost", "password": "whatever it is"})
    assert checked == ["whatever it is"]


def test_suspended_member_cannot_sign_in(app, client, auth):
    with app.app_context():
        make_user("sam", suspended=True)
    response = auth.login("sam")
    assert response.status_code == 403
    assert "suspended" in response.text
    assert ">Sign in</a>" in client.get("/").text


def test_sign_in_renews_the_session(app, client, auth):
    with app.app_context():
        make_user("carol")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login("carol")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(str(get_user(app, username="carol").id) + ":")


def test_sign_out_is_a_post_with_csrf(app, client, auth):
    with app.app_context():
        make_user("carol")
    auth.login("carol")
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400  # no CSRF token
    assert ">Sign out</button>" in client.get("/").text
    response = auth.logout()
    assert response.status_code == 302
    assert ">Sign in</a>" in client.get("/").text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/%0a/evil.example",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(app, client, target):
    with app.app_context():
        make_user("carol")
    url = "/auth/login?" + __import__("urllib.parse").parse.urlencode({"next": target})
    response = post_form(client, url, {"login": "carol", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\")))
    assert "evil.example" not in location or location.startswith("/%0a")


def test_next_on_this_site_is_followed(app, client):
    with app.app_context():
        make_user("carol")
    response = client.get("/account")
    assert response.headers["Location"] == "/auth/login?next=%2Faccount"
    response = post_form(
        client, "/auth/login?next=%2Faccount", {"login": "carol", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_session_and_remember_cookies_are_httponly_and_lax(app, client, auth):
    with app.app_context():
        make_user("carol")
    response = auth.login("carol", remember=True)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
        assert "Secure" not in cookies[name]


@pytest.fixture
def secure_app(database_url):
    with own_app(database_url, SESSION_COOKIE_SECURE=True) as app:
        yield app


def test_cookies_are_secure_when_configured(secure_app):
    app = secure_app
    with app.app_context():
        make_user("carol")
    client = app.test_client()
    response = post_form(
        client, "/auth/login", {"login": "carol", "password": PASSWORD, "remember": "y"}
    )
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "Secure" in cookies["session"] and "Secure" in cookies["remember_token"]


def test_remember_me_survives_losing_the_session_cookie(app, client, auth):
    with app.app_context():
        make_user("carol")
    auth.login("carol", remember=True)
    client.delete_cookie("session")
    assert client.get("/account").status_code == 200


# --- password reset ------------------------------------------------------------------------


def test_reset_request_answers_the_same_for_known_and_unknown_email(app, client):
    with app.app_context():
        make_user("carol")
    page = client.get("/auth/reset").text
    assert ">Email</label>" in page and ">Send reset link</button>" in page
    with record_mail(app) as outbox:
        known = post_form(
            client, "/auth/reset", {"email": "carol@example.org"}, follow_redirects=True
        )
        unknown = post_form(
            client, "/auth/reset", {"email": "nobody@example.org"}, follow_redirects=True
        )
    assert known.status_code == unknown.status_code == 200
    assert same_page(known.text, "carol@example.org") == same_page(
        unknown.text, "nobody@example.org"
    )
    assert "If carol@example.org has an account here" in known.text
    assert [m.recipients for m in outbox] == [["carol@example.org"]]


def reset_link(app, client, login="carol") -> str:
    with record_mail(app) as outbox:
        post_form(client, "/auth/reset", {"email": f"{login}@example.org"})
    assert len(outbox) == 1
    return link_in(outbox[0])


def test_reset_link_sets_a_new_password_once(app, client, auth):
    with app.app_context():
        make_user("carol")
    path = reset_link(app, client)
    page = client.get(path)
    assert page.status_code == 200
    assert ">New password</label>" in page.text and ">Change password</button>" in page.text
    data = {
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client, path),
    }
    response = client.post(path, data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert auth.login("carol").status_code == 400  # the old password no longer works
    assert auth.login("carol", password=NEW_PASSWORD).status_code == 302
    auth.logout()
    again = client.get(path)  # the link worked once
    assert again.status_code == 400 and "work once, for one hour" in again.text


def test_reset_link_expires_after_an_hour(app, client, monkeypatch):
    with app.app_context():
        make_user("carol")
    path = reset_link(app, client)
    later = time.time() + 3601
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert client.get(path).status_code == 400


def test_reset_with_weak_password_keeps_the_link_working(app, client):
    with app.app_context():
        make_user("carol")
    path = reset_link(app, client)
    data = {
        "password": "password1234",
        "confirm": "password1234",
        "csrf_token": csrf_token(client, path),
    }
    response = client.post(path, data=data)
    assert response.status_code == 400 and "too common" in response.text
    assert client.get(path).status_code == 200


def test_reset_ends_every_other_session_including_remember_me(app, client, auth):
    with app.app_context():
        make_user("carol")
    laptop = app.test_client()
    helpers.AuthActions(laptop).login("carol", remember=True)
    path = reset_link(app, client)
    client.post(
        path,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(client, path),
        },
    )
    assert laptop.get("/account").status_code == 302
    laptop.delete_cookie("session")  # the remember cookie alone doesn't bring it back
    assert laptop.get("/account").status_code == 302


def test_suspended_accounts_get_no_reset_mail(app, client):
    with app.app_context():
        make_user("sam", suspended=True)
    with record_mail(app) as outbox:
        response = post_form(client, "/auth/reset", {"email": "sam@example.org"})
    assert response.status_code == 302 and outbox == []


# --- a mail server that is down ------------------------------------------------------------


@pytest.fixture
def mail_down_app(database_url):
    from tests.mailsink import free_port

    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port(), "MAIL_SUPPRESS_SEND": False}
    with own_app(database_url, **config) as app:
        yield app


def test_mail_server_down_changes_no_answer_and_the_mail_waits_for_a_retry(mail_down_app):
    app = mail_down_app
    with app.app_context():
        make_user("carol")
    client = app.test_client()
    response = post_form(client, "/auth/reset", {"email": "carol@example.org"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    response = register(client, username="dora", email="dora@example.org", sign_in=False)
    assert response.status_code == 302
    assert "We sent a link to dora@example.org" in client.get("/auth/login").text
    helpers.deliver_mail(app)  # the server is down: both stay queued for a later try
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.to_address, r.status, r.attempts) for r in rows] == [
            ("carol@example.org", "pending", 1),
            ("dora@example.org", "pending", 1),
        ]
        assert all(r.last_error and r.next_attempt_at > utcnow() for r in rows)


# --- CSRF on every POST here ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/auth/login",
        "/auth/logout",
        "/auth/register",
        "/auth/confirm",
        "/auth/reset",
        "/auth/reset/whatever",
        "/auth/confirm/whatever",
        "/account",
        "/account/password",
        "/account/email",
        "/account/delete",
        "/admin/users/1/role",
        "/admin/users/1/suspend",
        "/admin/users/1/reinstate",
    ],
)
def test_every_post_without_a_csrf_token_is_refused(app, client, auth, path):
    with app.app_context():
        make_user("root", role="admin")
    auth.login("root")
    response = client.post(
        path,
        data={
            "login": "root",
            "password": PASSWORD,
            "role": "member",
            "current": PASSWORD,
            "email": "x@example.org",
        },
    )
    assert response.status_code == 400
    assert "CSRF" in response.text or "Your form had expired" in response.text  # kept forms
    assert get_user(app, username="root").role == "admin"
    assert ">Sign out</button>" in client.get("/").text


# --- rate limits ---------------------------------------------------------------------------


@pytest.fixture
def limited(database_url):
    """An app with rate limits ON (the other tests turn them off)."""
    with own_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_SIGNIN="3 per minute",
        RATELIMIT_REGISTER="2 per minute",
        RATELIMIT_RESET="2 per minute",
        RATELIMIT_RESEND="1 per minute",
    ) as app:
        yield app


def test_sign_in_is_rate_limited_keeping_the_form_text(limited):
    client = limited.test_client()
    for _ in range(3):
        response = post_form(client, "/auth/login", {"login": "guesser", "password": "wrong guess"})
        assert response.status_code == 400
    response = post_form(client, "/auth/login", {"login": "guesser", "password": "wrong guess"})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "Too many attempts" in response.text
    assert 'value="guesser"' in response.text
    assert ">Sign in</button>" in response.text
    assert client.get("/auth/login").status_code == 200  # reading the page is not limited


@pytest.fixture
def limited_per_account(database_url):
    with own_app(
        database_url, RATELIMIT_ENABLED=True, RATELIMIT_SIGNIN_ACCOUNT="2 per hour"
    ) as app:
        yield app


def test_sign_in_is_limited_per_account_across_addresses(limited_per_account):
    """Username and email are one bucket; an address that failed is then held back."""
    with limited_per_account.app_context():
        make_user("carol")
    client = limited_per_account.test_client()
    for n, login in enumerate(["carol", "carol@example.org"]):
        env = {"REMOTE_ADDR": f"10.0.0.{n}"}
        token = csrf_token(client)
        assert (
            client.post(
                "/auth/login",
                data={"login": login, "password": "x" * 12, "csrf_token": token},
                environ_base=env,
            ).status_code
            == 400
        )
    response = client.post(
        "/auth/login",
        data={"login": "Carol", "password": "x" * 12, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 60


def test_registration_is_rate_limited_keeping_the_form_text(limited):
    client = limited.test_client()
    for n in range(2):
        register(client, username=f"spammer{n}", email=f"s{n}@example.org", confirm="nope")
    response = register(client, username="spammer9", email="s9@example.org")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert 'value="spammer9"' in response.text and 'value="s9@example.org"' in response.text
    assert get_user(limited, username="spammer9") is None


def test_reset_is_rate_limited(limited):
    client = limited.test_client()
    for _ in range(2):
        post_form(client, "/auth/reset", {"email": "someone@example.org"})
    response = post_form(client, "/auth/reset", {"email": "someone@example.org"})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert 'value="someone@example.org"' in response.text


def test_resend_is_rate_limited(limited):
    with limited.app_context():
        make_user("newbie", confirmed=False)
    client = limited.test_client()
    helpers.AuthActions(client).login("newbie")
    token = csrf_token(client, "/account")
    assert client.post("/auth/confirm", data={"csrf_token": token}).status_code == 302
    response = client.post("/auth/confirm", data={"csrf_token": token})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "Too many attempts" in response.text


@pytest.fixture
def redis_visitor():
    """An address and account name of this test's own; their Redis keys removed afterwards."""
    client = redis_or_missing()
    n = uuid.uuid4().int
    visitor = {"ip": f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}", "login": f"g-{n % 10**9}"}
    yield visitor
    for pattern in (f"*/{visitor['ip']}/*", f"*login:{visitor['login']}/*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()


def test_rate_limits_live_in_redis_shared_by_every_process(database_url, redis_visitor):
    """With REDIS_URL set, a second app process sees the attempts made through the first."""
    config = helpers.test_config(
        database_url, REDIS_URL=REDIS_URL, RATELIMIT_ENABLED=True, RATELIMIT_SIGNIN="2 per minute"
    )
    del config["RATELIMIT_STORAGE_URI"]  # chosen from REDIS_URL, as in production
    attempt = {"login": redis_visitor["login"], "password": "x" * 12}
    environ = {"REMOTE_ADDR": redis_visitor["ip"]}
    first = create_app(dict(config))
    client = first.test_client()
    for _ in range(2):
        attempt["csrf_token"] = csrf_token(client)
        response = client.post("/auth/login", data=attempt, environ_base=environ)
        assert response.status_code == 400
    second = create_app(dict(config))  # another process: in-memory counts would start at 0
    client = second.test_client()
    attempt["csrf_token"] = csrf_token(client)
    response = client.post("/auth/login", data=attempt, environ_base=environ)
    assert response.status_code == 429
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()
