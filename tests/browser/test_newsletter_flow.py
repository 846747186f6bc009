"""A reader in Chromium: subscribes from the home page, confirms from the mail, gets the next
post by email, unsubscribes from its link; at 320 px nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from blogapp.models import Role
from blogapp.posts import authoring_services
from tests.browser.steps import no_axe_violations
from tests.builders import make_user
from tests.mailsink import app_mailing_to, text_of


@pytest.fixture
def app(database_url, tmp_path, inbox):
    """The usual test app, delivering mail in the background to the local SMTP server."""
    config = {"upload_dir": tmp_path / "uploads", "WORKER_POLL_SECONDS": 0.2}
    with app_mailing_to(inbox.port, database_url, **config) as app:
        yield app


def path_in(message, pattern: str) -> str:
    return re.search(r"https?://[^/\s]+(" + pattern + r"[\w.\-]+)", text_of(message)).group(1)


def test_subscribe_confirm_receive_and_unsubscribe(page, live_server, app, inbox):
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(live_server + "/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    box = page.get_by_role("complementary", name="Get new posts by email")
    box.get_by_label("Email for new posts").fill("shift.worker@example.org")
    box.get_by_label("Every new post").check()
    box.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("a message is on its way")).to_be_visible()
    no_axe_violations(page)

    confirm = inbox.last(
        "shift.worker@example.org", "Confirm your subscription to " + (app.config["BLOG_TITLE"])
    )
    page.goto(live_server + path_in(confirm, "/subscribe/confirm/"))
    no_axe_violations(page)
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_text("will get every new post")).to_be_visible()

    with app.app_context():
        author = make_user(role=Role.AUTHOR)
        draft = authoring_services.Draft(title="Rota changes", body="Read this.")
        authoring_services.save(None, draft, author, "publish")
    letter = inbox.last("shift.worker@example.org", "Rota changes")
    page.goto(live_server + path_in(letter, "/unsubscribe/"))
    no_axe_violations(page)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("gets no more newsletters")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
