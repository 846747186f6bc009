"""A person in Chromium: signs up, confirms from the mail, signs out and in, resets, signs in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import fill_sign_in, no_axe_violations
from tests.mailsink import app_mailing_to, link_path

FIRST_PASSWORD = "quiet corridors at dawn"
SECOND_PASSWORD = "a different phrase entirely"


@pytest.fixture
def app(database_url, tmp_path, inbox):
    """The usual test app, sending real mail to the local SMTP server."""
    with app_mailing_to(inbox.port, database_url, upload_dir=tmp_path / "uploads") as app:
        yield app


def test_sign_up_confirm_sign_out_in_reset_and_sign_in_again(page, live_server, inbox):
    account_nav = page.get_by_role("navigation", name="Account")
    page.goto(live_server + "/")
    account_nav.get_by_role("link", name="Register").click()
    no_axe_violations(page)
    page.get_by_label("Username").fill("night_nurse")
    page.get_by_label("Email").fill("night.nurse@example.org")
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Confirm password").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # Registering signs nobody in (an existing address gets the very same answer).
    expect(page.get_by_text("We sent a link to night.nurse@example.org")).to_be_visible()
    no_axe_violations(page)

    mail = inbox.last("night.nurse@example.org", "Confirm your email address")
    page.goto(live_server + link_path(mail))
    no_axe_violations(page)
    page.get_by_role("button", name="Confirm email").click()
    expect(page.get_by_text("night.nurse@example.org is confirmed")).to_be_visible()
    fill_sign_in(page, "night_nurse", FIRST_PASSWORD)
    page.goto(live_server + "/account")
    expect(page.get_by_text("(confirmed)")).to_be_visible()

    account_nav.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    account_nav.get_by_role("link", name="Sign in").click()
    fill_sign_in(page, "night_nurse", FIRST_PASSWORD)
    expect(page.get_by_text("You are signed in.")).to_be_visible()
    account_nav.get_by_role("button", name="Sign out").click()

    account_nav.get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Forgot your password?").click()
    no_axe_violations(page)
    page.get_by_label("Email").fill("night.nurse@example.org")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("If night.nurse@example.org has an account here")).to_be_visible()
    mail = inbox.last("night.nurse@example.org", "Reset your password")
    page.goto(live_server + link_path(mail))
    no_axe_violations(page)
    page.get_by_label("New password", exact=True).fill(SECOND_PASSWORD)
    page.get_by_label("Confirm new password").fill(SECOND_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password was changed")).to_be_visible()

    fill_sign_in(page, "night.nurse@example.org", FIRST_PASSWORD)
    expect(page.get_by_text("don't match an account")).to_be_visible()
    # The refused form comes back as a 400, which the console notes; nothing else may appear.
    assert all("status of 400" in problem for problem in page.problems)
    page.problems.clear()
    page.get_by_label("Password").fill(SECOND_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You are signed in.")).to_be_visible()
    expect(account_nav.get_by_text("night_nurse")).to_be_visible()


@pytest.mark.parametrize(
    "path",
    [
        "/account",
        "/account/password",
        "/account/email",
        "/account/delete",
        "/admin/users",
        "/auth/register",
        "/auth/reset",
    ],
)
def test_account_and_admin_pages_have_no_axe_violations(page, live_server, app, path):
    from tests.browser.steps import sign_in
    from tests.builders import make_user

    with app.app_context():
        make_user("root", role="admin")
        make_user("unconfirmed_una", confirmed=False)
    sign_in(page, live_server, "root")
    page.goto(live_server + path)
    expect(page.locator("h1")).to_have_count(1)
    no_axe_violations(page)
