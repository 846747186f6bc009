"""Sessions you can see and end, two-factor sign-in, passkeys, and the emails about them."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import create_engine, event, select, update

from blogapp.auth import sessions
from blogapp.extensions import db
from blogapp.models import Passkey, RecoveryCode, Role, TotpSecret, User, UserSession, utcnow
from tests import helpers
from tests.builders import PASSWORD, make_user
from tests.helpers import csrf_token, post_form
from tests.member_roles import own_app
from tests.softkey import SoftPasskey
from tests.test_auth import NEW_PASSWORD

SECRET_ATTR = re.compile(r'data-secret="([A-Z2-7]+)"')
CODE = re.compile(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>")
END_LINK = re.compile(r"http://localhost(/account/sessions/end/[A-Za-z0-9_.\-]+)")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
)


def browser(app, agent: str = FIREFOX, address: str = "203.0.113.77"):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    return client


def sign_in(client, login: str, password: str = PASSWORD):
    return post_form(client, "/auth/login", {"login": login, "password": password})


def records_of(app, username: str) -> list[UserSession]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return list(
            db.session.scalars(
                select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
            )
        )


@pytest.fixture
def ann(app):
    with app.app_context():
        return make_user("ann").id


# --- session records -----------------------------------------------------------------------


def test_sign_in_makes_a_record_shown_on_the_sessions_page_with_a_truncated_address(app, ann):
    client = browser(app)
    assert sign_in(client, "ann").status_code == 302
    [record] = records_of(app, "ann")
    assert record.address == "203.0.113.0" and record.ended_at is None
    page = client.get("/account/sessions")
    assert page.status_code == 200
    assert "Firefox on Linux" in page.text and "This browser" in page.text
    assert "203.0.113.0" in page.text and "203.0.113.77" not in page.text


def test_a_cookie_copied_before_sign_out_stops_working_after_it(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    cookie = client.get_cookie("session").value
    thief = browser(app, address="198.51.100.9")
    thief.set_cookie("session", cookie)
    assert thief.get("/account").status_code == 200  # the copy works while the session lives
    assert post_form(client, "/auth/logout").status_code == 302
    response = thief.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert records_of(app, "ann")[0].ended_at is not None


def test_a_remember_me_cookie_dies_with_its_session_too(app, ann):
    client = browser(app)
    post_form(client, "/auth/login", {"login": "ann", "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token").value
    other = browser(app)
    other.set_cookie("remember_token", remember)
    assert other.get("/account").status_code == 200  # the remember cookie alone signs in
    post_form(client, "/auth/logout")
    fresh = browser(app)
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/account").status_code == 302


def test_ending_a_session_from_the_list_signs_that_browser_out(app, ann):
    laptop, phone = browser(app), browser(app, agent=CHROME_MAC)
    sign_in(laptop, "ann")
    sign_in(phone, "ann")
    phone_record = records_of(app, "ann")[1]
    page = laptop.get("/account/sessions").text
    assert "Chrome on macOS" in page
    response = post_form(laptop, f"/account/sessions/{phone_record.id}/end")
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_sign_out_everywhere_else_keeps_this_browser(app, ann):
    clients = [browser(app, agent=f"Agent {n}") for n in range(3)]
    for client in clients:
        sign_in(client, "ann")
    assert post_form(clients[0], "/account/sessions/end-others").status_code == 302
    assert [c.get("/account").status_code for c in clients] == [200, 302, 302]


def test_ending_someone_elses_session_by_id_is_404_and_changes_nothing(app, ann):
    with app.app_context():
        make_user("bob")
    ann_client, bob_client = browser(app), browser(app)
    sign_in(ann_client, "ann")
    sign_in(bob_client, "bob")
    bob_record = records_of(app, "bob")[0]
    assert post_form(ann_client, f"/account/sessions/{bob_record.id}/end").status_code == 404
    assert bob_client.get("/account").status_code == 200


def test_session_actions_need_a_csrf_token(app, ann):
    laptop, phone = browser(app), browser(app, agent=CHROME_MAC)
    sign_in(laptop, "ann")
    sign_in(phone, "ann")
    phone_record = records_of(app, "ann")[1]
    for url in (f"/account/sessions/{phone_record.id}/end", "/account/sessions/end-others"):
        assert laptop.post(url).status_code == 400
    assert laptop.post("/auth/logout").status_code == 400
    assert phone.get("/account").status_code == 200
    assert laptop.get("/account").status_code == 200


def test_password_change_ends_other_sessions_keeps_this_one_and_emails(app, ann):
    laptop, phone = browser(app), browser(app, agent=CHROME_MAC)
    sign_in(laptop, "ann")
    sign_in(phone, "ann")
    with helpers.record_mail(app) as outbox:
        response = post_form(
            laptop,
            "/account/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    assert [m.subject for m in outbox] == ["Your password was changed"]
    assert END_LINK.search(outbox[0].body)
    live = [r for r in records_of(app, "ann") if r.ended_at is None]
    assert len(live) == 1


def test_suspension_ends_every_session_record(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    with app.app_context():
        from blogapp.auth.services import set_suspended

        make_user("root", role=Role.ADMIN)
        set_suspended(db.session.get(User, ann), True)
    assert all(r.ended_at is not None for r in records_of(app, "ann"))
    assert client.get("/account").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    first = records_of(app, "ann")[0].last_seen_at
    client.get("/account")
    client.get("/account")
    assert records_of(app, "ann")[0].last_seen_at == first
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=first - timedelta(minutes=2)))
        db.session.commit()
    client.get("/account")
    assert records_of(app, "ann")[0].last_seen_at > first - timedelta(seconds=1)


def test_a_visit_noted_by_another_request_at_that_moment_is_no_error(app, ann):
    """Two requests of one session a minute after its last visit both note it; on SQLite
    the one that read first can no longer write (seen as a 503 under load)."""
    client = browser(app)
    sign_in(client, "ann")
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
        url = db.engine.url
    other = create_engine(url)
    noted = []

    def meanwhile(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS") and not noted:
            noted.append(statement)  # the other request notes the visit first, and commits
            with other.begin() as connection:
                connection.execute(update(UserSession).values(last_seen_at=utcnow()))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", meanwhile)
    try:
        response = client.get("/account")
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", meanwhile)
        other.dispose()
    assert noted
    assert response.status_code == 200
    assert records_of(app, "ann")[0].last_seen_at > utcnow() - timedelta(minutes=1)


def test_purge_sessions_removes_only_long_ended_or_expired_records(app, runner, ann):
    now = utcnow()
    with app.app_context():
        user = db.session.get(User, ann)
        for ended, expires in (
            (now - timedelta(days=100), now + timedelta(days=1)),  # ended long ago: goes
            (None, now - timedelta(days=91)),  # expired long ago: goes
            (now - timedelta(days=2), now + timedelta(days=1)),  # ended recently: stays
            (None, now + timedelta(days=1)),  # live: stays
        ):
            record, _, _ = sessions.start(user, user_agent="x", address="", lifetime=timedelta(1))
            record.ended_at, record.expires_at = ended, expires
        db.session.commit()
    result = runner.invoke(args=["purge-sessions"])
    assert result.exit_code == 0 and "Removed 2 session records" in result.output
    assert len(records_of(app, "ann")) == 2


def test_a_sign_in_from_a_new_browser_emails_a_link_that_ends_it_by_post_only(app, ann):
    sign_in(browser(app), "ann")
    with helpers.record_mail(app) as outbox:
        sign_in(browser(app), "ann")  # the same browser again: no email
        stranger = browser(app, agent=CHROME_MAC, address="198.51.100.9")
        sign_in(stranger, "ann")
    assert [m.subject for m in outbox] == ["New sign-in to your account"]
    assert "Chrome on macOS" in outbox[0].body and "198.51.100.0" in outbox[0].body
    link = END_LINK.search(outbox[0].body).group(1)
    assert link in outbox[0].html.replace("&amp;", "&") or END_LINK.search(outbox[0].html)
    anonymous = browser(app)
    page = anonymous.get(link)  # a mail scanner's GET changes nothing
    assert page.status_code == 200 and "End that session" in page.text
    assert stranger.get("/account").status_code == 200
    assert anonymous.post(link).status_code == 400  # no CSRF token: nothing happens
    assert stranger.get("/account").status_code == 200
    response = post_form(anonymous, link, {"csrf_token": csrf_token(anonymous, link)})
    assert response.status_code == 302
    assert stranger.get("/account").status_code == 302


@pytest.mark.parametrize("token", ["forged", "x" * 3000, "é\u202e", "a.b.c"])
def test_a_bad_end_session_link_is_a_clear_400(client, token):
    response = client.get(f"/account/sessions/end/{token}")
    assert response.status_code == 400 and "doesn" in response.text


def test_an_old_style_session_without_a_record_is_signed_out(app, ann):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{ann}:1"  # what cookies said before session records
    assert client.get("/account").status_code == 302


# --- two-factor sign-in --------------------------------------------------------------------


def enrol(client) -> tuple[str, list[str]]:
    """Turn on two-factor as a person would: start, read the key, type a code."""
    assert post_form(client, "/account/security/totp/start").status_code == 302
    page = client.get("/account/security/totp")
    assert page.status_code == 200
    secret = SECRET_ATTR.search(page.text).group(1)
    earlier = pyotp.TOTP(secret).at(time.time() - 30)  # leaves "now" for the sign-in
    response = post_form(client, "/account/security/totp", {"code": earlier})
    assert response.status_code == 200, response.text
    codes = CODE.findall(response.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def second_step(client, code: str):
    return post_form(client, "/auth/two-factor", {"code": code})


def test_enrol_then_sign_in_asks_for_a_code_from_the_app(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    secret, _ = enrol(client)
    with app.app_context():
        assert db.session.get(TotpSecret, ann).enabled_at is not None
        # Only hashes are stored.
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and all(len(h) == 64 for h in stored)
    post_form(client, "/auth/logout")

    response = sign_in(client, "ann")
    assert response.headers["Location"] == "/auth/two-factor"
    assert client.get("/account").status_code == 302  # the password alone signs nobody in
    assert second_step(client, "000000").status_code == 400
    response = second_step(client, pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_code_from_the_app_works_only_once(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    secret, _ = enrol(client)
    post_form(client, "/auth/logout")
    code = pyotp.TOTP(secret).now()
    sign_in(client, "ann")
    assert second_step(client, code).status_code == 302
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    response = second_step(client, code)
    assert response.status_code == 400 and "already used" in response.text


def test_a_recovery_code_works_once(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    _, codes = enrol(client)
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    response = second_step(client, codes[3].upper().replace("-", " "))  # as typed from paper
    assert response.status_code == 302
    assert "9 left" in client.get("/account").text
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    assert second_step(client, codes[3]).status_code == 400
    assert client.get("/account").status_code == 302


def test_the_code_step_without_a_fresh_password_step_is_a_clear_400(app, ann, monkeypatch):
    client = browser(app)
    assert client.get("/auth/two-factor").status_code == 400
    sign_in(client, "ann")
    enrol(client)
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    from blogapp.auth import signin

    monkeypatch.setattr(signin, "PENDING_SECONDS", -1)
    assert client.get("/auth/two-factor").status_code == 400


@pytest.mark.parametrize(
    "code", ["", "1" * 5000, "١٢٣٤٥٦", "12\r\n3456", "<b>123456</b>", "\u202e1"]
)
def test_odd_codes_get_a_form_error_not_a_500(app, ann, code):
    client = browser(app)
    sign_in(client, "ann")
    post_form(client, "/account/security/totp/start")
    assert post_form(client, "/account/security/totp", {"code": code}).status_code == 400
    enrol(client)
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    assert second_step(client, code).status_code == 400
    assert client.get("/account").status_code == 302


def test_wrong_codes_are_limited_per_account_and_address_without_locking_out_the_owner(
    database_url,
):
    with own_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_SIGNIN_CODE="2 per minute") as app:
        with app.app_context():
            make_user("ann")
        owner = browser(app, address="192.0.2.10")
        sign_in(owner, "ann")
        secret, _ = enrol(owner)
        post_form(owner, "/auth/logout")

        attacker = browser(app, address="198.51.100.9")
        sign_in(attacker, "ann")
        assert second_step(attacker, "000000").status_code == 400
        assert second_step(attacker, "111111").status_code == 400
        response = second_step(attacker, pyotp.TOTP(secret).now())
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0

        sign_in(owner, "ann")  # from an address that hasn't failed: not blocked
        assert second_step(owner, pyotp.TOTP(secret).now()).status_code == 302
        assert owner.get("/account").status_code == 200


def test_turning_two_factor_off_needs_the_password_and_emails_the_owner(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    enrol(client)
    response = post_form(client, "/account/security/totp/disable", {"current": "not it at all"})
    assert response.status_code == 400 and "isn&#39;t your password" in response.text
    with helpers.record_mail(app) as outbox:
        response = post_form(client, "/account/security/totp/disable", {"current": PASSWORD})
    assert response.status_code == 302
    assert [m.subject for m in outbox] == ["Two-factor sign-in was turned off"]
    assert END_LINK.search(outbox[0].body)
    with app.app_context():
        assert db.session.get(TotpSecret, ann) is None
        assert db.session.scalars(select(RecoveryCode)).all() == []


def test_new_recovery_codes_void_the_old_ones(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    _, old = enrol(client)
    response = post_form(client, "/account/security/recovery-codes", {"current": PASSWORD})
    new = CODE.findall(response.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert "no-store" in response.headers["Cache-Control"]
    post_form(client, "/auth/logout")
    sign_in(client, "ann")
    assert second_step(client, old[0]).status_code == 400
    assert second_step(client, new[0]).status_code == 302


def test_the_qr_code_is_inline_svg_with_no_script_or_style(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    post_form(client, "/account/security/totp/start")
    page = client.get("/account/security/totp")
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert "<path" in svg and "<script" not in svg and "style" not in svg
    assert "<?xml" not in page.text
    assert "no-store" in page.headers["Cache-Control"]


@pytest.fixture
def staff_must_enrol(database_url):
    with own_app(database_url, TWO_FACTOR_REQUIRED_ROLES=(Role.AUTHOR, Role.ADMIN)) as app:
        yield app


def test_staff_without_two_factor_are_sent_to_enrol_before_staff_pages(staff_must_enrol):
    app = staff_must_enrol
    with app.app_context():
        make_user("writer", role=Role.AUTHOR)
        make_user("reader")
    client = browser(app)
    sign_in(client, "writer")
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    assert "Your role needs it" in client.get("/account/security").text
    assert post_form(client, "/posts/new", {"title": "x", "body": "y"}).status_code == 403
    assert client.get("/account").status_code == 200  # their own account pages still open
    enrol(client)
    assert client.get("/dashboard").status_code == 200
    # Their role needs it, so it can't be turned off.
    response = post_form(client, "/account/security/totp/disable", {"current": PASSWORD})
    assert response.status_code == 403
    member = browser(app)
    sign_in(member, "reader")
    assert member.get("/account").status_code == 200


def test_two_factor_required_roles_is_checked_at_start_up(database_url):
    from blogapp import create_app
    from blogapp.config import ConfigError

    with pytest.raises(ConfigError, match="TWO_FACTOR_REQUIRED_ROLES"):
        create_app(helpers.test_config(database_url, TWO_FACTOR_REQUIRED_ROLES=("wizard",)))


def test_sign_in_again_on_the_post_form_wont_skip_two_factor(app):
    with app.app_context():
        make_user("writer", role=Role.AUTHOR)
    client = browser(app)
    sign_in(client, "writer")
    enrol(client)
    post_form(client, "/auth/logout")
    first = client.post("/posts/new", data={"title": "Kept", "body": "Draft", "csrf_token": "x"})
    assert first.status_code == 401 and "Sign in to keep writing" in first.text
    token = helpers.CSRF_INPUT.search(first.text).group(1)
    data = {"title": "Kept", "body": "Draft", "csrf_token": token}
    data.update(login="writer", password=PASSWORD, resume="Sign in and keep writing")
    response = client.post("/posts/new", data=data)
    assert response.status_code == 401 and "two-factor" in response.text
    assert client.get("/dashboard").status_code == 302


# --- passkeys (the browser test registers and signs in with a real one) -----------------------


def test_passkey_routes_refuse_bad_answers_with_a_clear_message(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    token = csrf_token(client, "/account/security")
    options = client.post("/account/security/passkeys/options", headers={"X-CSRFToken": token})
    assert options.status_code == 200 and options.json["rp"]["id"] == "localhost"
    assert options.json["authenticatorSelection"]["residentKey"] == "required"
    for credential in ("{}", "not json", "[1]", '{"id": "AAAA", "response": {}}', "é" * 20000):
        client.post("/account/security/passkeys/options", headers={"X-CSRFToken": token})
        response = post_form(
            client, "/account/security/passkeys", {"name": "Phone", "credential": credential}
        )
        assert response.status_code == 400, credential
    anonymous = browser(app)
    token = csrf_token(anonymous)
    anonymous.post("/auth/passkey/options", headers={"X-CSRFToken": token})
    response = anonymous.post("/auth/passkey", data={"csrf_token": token, "credential": "{}"})
    assert response.status_code == 400 and "isn&#39;t registered here" in response.text
    assert anonymous.get("/account").status_code == 302


def test_passkey_options_need_csrf(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    assert client.post("/account/security/passkeys/options").status_code == 400
    assert browser(app).post("/auth/passkey/options").status_code == 400


def test_removing_someone_elses_passkey_is_404(app, ann):
    with app.app_context():
        bob = make_user("bob")
        key = Passkey(user_id=bob.id, name="Bob's key", credential_id="Ym9i", public_key="x")
        db.session.add(key)
        db.session.commit()
        key_id = key.id
    client = browser(app)
    sign_in(client, "ann")
    assert post_form(client, f"/account/security/passkeys/{key_id}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(Passkey, key_id) is not None


def signin_limited(database_url):
    """An app with ann whose account is held back after two failed passwords (an address
    may try three times a minute: the account's limit is what answers the third)."""
    return own_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_SIGNIN="3 per minute",
        RATELIMIT_SIGNIN_ACCOUNT="2 per hour",
    )


def test_failed_passwords_never_block_signing_in_with_a_passkey(database_url):
    with signin_limited(database_url) as app:
        with app.app_context():
            make_user("ann")
        attacker = browser(app, address="198.51.100.9")
        for _ in range(2):
            sign_in(attacker, "ann", "wrong password guess")
        assert sign_in(attacker, "ann", "wrong password guess").status_code == 429
        # The same address, the same account: the passkey door still answers (and checks).
        token = csrf_token(attacker)
        assert (
            attacker.post("/auth/passkey/options", headers={"X-CSRFToken": token}).status_code
            == 200
        )
        response = attacker.post("/auth/passkey", data={"csrf_token": token, "credential": "{}"})
        assert response.status_code == 400


def test_every_security_state_change_is_a_post_that_needs_csrf(app, ann):
    """Each POST route here refuses a missing token (400) and a GET (405), changing nothing."""
    client = browser(app)
    sign_in(client, "ann")
    secret, _ = enrol(client)
    with app.app_context():
        key = Passkey(user_id=ann, name="Phone", credential_id="cGhvbmU", public_key="x")
        db.session.add(key)
        db.session.commit()
        key_id = key.id
    record = records_of(app, "ann")[0]
    urls = [
        "/auth/logout",
        f"/account/sessions/{record.id}/end",
        "/account/sessions/end-others",
        "/account/security/totp/start",
        "/account/security/totp/disable",
        "/account/security/recovery-codes",
        "/account/security/passkeys/options",
        "/account/security/passkeys",
        f"/account/security/passkeys/{key_id}/delete",
        "/auth/passkey/options",
        "/auth/passkey",
    ]
    for url in urls:
        assert client.post(url, data={"current": PASSWORD}).status_code == 400, url
        assert client.get(url).status_code == 405, url
    assert client.get("/account").status_code == 200
    with app.app_context():
        assert db.session.get(TotpSecret, ann).enabled_at is not None
        assert db.session.get(Passkey, key_id) is not None
    assert secret


def test_clinical_reviewers_enrol_before_the_review_queue(database_url):
    """A member made a clinical reviewer counts as staff when "reviewer" is listed."""
    with own_app(database_url, TWO_FACTOR_REQUIRED_ROLES=("reviewer",)) as app:
        with app.app_context():
            make_user("rae", reviewer_credentials="RN, MSN")
            make_user("reader")
        client = browser(app)
        sign_in(client, "rae")
        response = client.get("/reviews")
        assert response.status_code == 302 and response.headers["Location"] == "/account/security"
        enrol(client)
        assert client.get("/reviews").status_code == 200
        member = browser(app)
        sign_in(member, "reader")
        assert member.get("/account").status_code == 200


# --- passkeys end to end, with a software authenticator (tests/softkey.py) ---------------------


def add_passkey(client, key: SoftPasskey, name: str):
    token = csrf_token(client, "/account/security")
    options = client.post("/account/security/passkeys/options", headers={"X-CSRFToken": token})
    assert options.status_code == 200
    return post_form(
        client, "/account/security/passkeys", {"name": name, "credential": key.create(options.json)}
    )


def passkey_sign_in(client, key: SoftPasskey):
    token = csrf_token(client)
    options = client.post("/auth/passkey/options", headers={"X-CSRFToken": token})
    assert options.status_code == 200
    return client.post(
        "/auth/passkey", data={"csrf_token": token, "credential": key.get(options.json)}
    )


def test_several_passkeys_each_sign_in_and_removing_one_leaves_the_others(app, ann):
    client = browser(app)
    sign_in(client, "ann")
    keys = {name: SoftPasskey() for name in ("Phone", "Laptop", "Work key")}
    for name, key in keys.items():
        assert add_passkey(client, key, name).status_code == 302
    page = client.get("/account/security").text
    assert all(name in page for name in keys)
    with app.app_context():
        rows = {k.name: k.id for k in db.session.scalars(select(Passkey))}
    assert sorted(rows) == sorted(keys)
    response = post_form(client, f"/account/security/passkeys/{rows['Laptop']}/delete")
    assert response.status_code == 302
    page = client.get("/account/security").text
    assert "Laptop" not in page and "Phone" in page and "Work key" in page
    removed = passkey_sign_in(browser(app), keys["Laptop"])
    assert removed.status_code == 400 and "isn&#39;t registered here" in removed.text
    for name in ("Phone", "Work key"):
        device = browser(app)
        assert passkey_sign_in(device, keys[name]).status_code == 302, name
        assert device.get("/account").status_code == 200


def test_the_passkey_added_mail_ends_that_session_and_removes_that_passkey(app, ann):
    """Someone with a stolen session adds a passkey: the mail's link must undo both, or
    the passkey signs them straight back in after the session is ended."""
    thief = browser(app, agent=CHROME_MAC, address="198.51.100.9")
    sign_in(thief, "ann")
    owners_key, thiefs_key = SoftPasskey(), SoftPasskey()
    owner = browser(app)
    sign_in(owner, "ann")
    assert add_passkey(owner, owners_key, "Mine").status_code == 302
    with helpers.record_mail(app) as outbox:
        assert add_passkey(thief, thiefs_key, "Not mine").status_code == 302
    assert [m.subject for m in outbox] == ["A passkey was added to your account"]
    assert "end that session and remove the passkey" in outbox[0].body
    link = END_LINK.search(outbox[0].body).group(1)
    assert END_LINK.search(outbox[0].html.replace("&amp;", "&")).group(1) == link
    anonymous = browser(app)
    assert anonymous.get(link).status_code == 200  # a scanner's GET changes nothing
    assert thief.get("/account").status_code == 200
    elsewhere = browser(app, agent=CHROME_MAC, address="198.51.100.10")
    assert passkey_sign_in(elsewhere, thiefs_key).status_code == 302  # the new key, used
    response = post_form(anonymous, link, {"csrf_token": csrf_token(anonymous, link)})
    assert response.status_code == 302
    assert thief.get("/account").status_code == 302  # that session is over, and the one
    assert elsewhere.get("/account").status_code == 302  # its passkey opened since...
    again = passkey_sign_in(browser(app), thiefs_key)  # ...and its passkey can't reopen it
    assert again.status_code == 400, again.status_code
    assert owner.get("/account").status_code == 200  # the owner's own session and key stay
    assert passkey_sign_in(browser(app), owners_key).status_code == 302


def test_a_passkey_signs_the_owner_in_while_passwords_are_locked_out(database_url):
    with signin_limited(database_url) as app:
        with app.app_context():
            make_user("ann")
        key = SoftPasskey()
        setup = browser(app, address="192.0.2.50")
        sign_in(setup, "ann")
        assert add_passkey(setup, key, "Phone").status_code == 302
        # Wrong passwords from the owner's own address: the account is held back there...
        owner = browser(app)
        for _ in range(2):
            sign_in(owner, "ann", "wrong password guess")
        assert sign_in(owner, "ann").status_code == 429  # even the right password, now
        assert owner.get("/account").status_code == 302
        # ...and the passkey still signs her in, from that same address.
        response = passkey_sign_in(owner, key)
        assert response.status_code == 302, response.status_code
        assert owner.get("/account").status_code == 200
