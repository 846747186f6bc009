"""A person in Chromium: staff told to enrol, TOTP from the shown key, recovery codes, a passkey
through Chromium's virtual authenticator, and sessions that end when they should."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from blogapp.models import Role
from tests import helpers
from tests.browser import steps
from tests.browser.steps import no_axe_violations
from tests.builders import make_user
from tests.member_roles import own_app


@pytest.fixture
def app(database_url, tmp_path):
    """Staff must enrol, as in production (the other tests leave that off)."""
    roles = (Role.AUTHOR, Role.ADMIN)
    uploads = tmp_path / "uploads"
    with own_app(database_url, upload_dir=uploads, TWO_FACTOR_REQUIRED_ROLES=roles) as app:
        with app.app_context():
            make_user("writer", role=Role.AUTHOR)
        yield app


@pytest.fixture
def site(live_server, app):
    # WebAuthn refuses IP addresses as a relying party id: the same server, by name.
    url = live_server.replace("127.0.0.1", "localhost")
    app.config["SITE_URL"] = url
    return url


def sign_in(page, site, code: str | None = None):
    steps.sign_in(page, site, "writer")
    if code is not None:
        expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Verify").click()


def sign_out(page):
    steps.sign_out(page)
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def fits_and_passes_axe(page):
    """No accessibility violations, and no sideways scrolling on a 320 px wide phone."""
    no_axe_violations(page)
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size(size)


def accepted_only_400s(page):
    # A refused form comes back as a 400, which the console notes; nothing else may appear.
    assert all("status of 400" in problem for problem in page.problems), page.problems
    page.problems.clear()


def test_staff_enrol_sign_in_with_code_recovery_code_and_passkey(page, site, browser, app):
    sign_in(page, site)
    page.goto(site + "/dashboard")
    expect(page).to_have_url(site + "/account/security")
    expect(page.get_by_text("Your role needs two-factor sign-in")).to_be_visible()

    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    fits_and_passes_axe(page)
    secret = page.locator("#totp-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your app").fill(totp.at(time.time() - 30))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.goto(site + "/dashboard")
    expect(page).to_have_url(site + "/dashboard")
    sign_out(page)

    sign_in(page, site, code=totp.now())
    expect(page.get_by_text("You are signed in.")).to_be_visible()
    sign_out(page)

    sign_in(page, site, code=codes[0])
    expect(page.get_by_text("You used a recovery code: 9 left")).to_be_visible()
    sign_out(page)
    sign_in(page, site, code=codes[0])
    expect(page.get_by_text("isn't right, or was already used")).to_be_visible()
    accepted_only_400s(page)
    page.get_by_label("Authentication code").fill(codes[1])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You are signed in.")).to_be_visible()

    # A passkey, made by Chromium's virtual authenticator.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    page.goto(site + "/account/security")
    page.get_by_label("Passkey name").fill("Work laptop")
    with helpers.record_mail(app) as outbox:
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_text("Passkey “Work laptop” added")).to_be_visible()
    assert [m.subject for m in outbox] == ["A passkey was added to your account"]
    expect(page.get_by_role("button", name="Remove passkey Work laptop")).to_be_visible()
    fits_and_passes_axe(page)
    sign_out(page)

    page.goto(site + "/auth/login")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_text("You are signed in.")).to_be_visible()  # no password, no code
    page.goto(site + "/account/sessions")
    expect(page.get_by_text("with a passkey")).to_be_visible()
    fits_and_passes_axe(page)

    # A copied cookie: works until this browser signs out, then never again.
    copied = page.context.cookies()
    thief = browser.new_context()
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(site + "/account")
    expect(stolen.get_by_role("heading", name="Your account")).to_be_visible()
    sign_out(page)
    stolen.goto(site + "/account")
    expect(stolen).to_have_url(re.compile(r"/auth/login\?next="))
    thief.close()


def test_ending_a_session_from_the_list_signs_that_browser_out(page, site, browser, app):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
    other = browser.new_context(user_agent="Mozilla/5.0 (iPhone) Safari/605.1")
    phone = other.new_page()
    sign_in(phone, site)
    expect(phone.get_by_text("You are signed in.")).to_be_visible()
    sign_in(page, site)
    page.goto(site + "/account/sessions")
    phone_row = page.get_by_role("listitem").filter(has_text="Safari on iPhone")
    phone_row.get_by_role("button", name="End this session").click()
    expect(page.get_by_text("that browser is signed out")).to_be_visible()
    phone.goto(site + "/account")
    expect(phone).to_have_url(re.compile(r"/auth/login\?next="))
    page.goto(site + "/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    other.close()
