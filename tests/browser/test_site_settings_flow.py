"""Issue 17 point 3 in Chromium: an admin saves the site settings at /admin/settings and a
reader, in a browser of their own, sees the change on their next page; on a phone and a
laptop, with the page cache on (a save must invalidate the pages readers were served)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.steps import axe_violations
from tests.builders import make_post, make_user

SLUG = "handover-notes-that-help-the-next-shift"


@pytest.fixture
def app(cached_app):
    """The page cache on, as in production (a stale cached page would hide the change);
    an admin, and a post for the reader to open."""
    with cached_app.app_context():
        make_user("boss", role="admin")
        assert make_post(title="Handover notes that help the next shift").slug == SLUG
    return cached_app


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("width", [320, 1280])
def test_an_admin_changes_the_site_settings_and_a_reader_sees_them(
    page, browser, live_server, width
):
    viewport = {"width": width, "height": 900}
    page.set_viewport_size(viewport)
    reader = browser.new_context(viewport=viewport).new_page()
    try:
        steps.sign_in(page, live_server, "boss")
        page.goto(live_server + "/admin/settings")
        # The reader's pages are cached before the change (signing in wrote rows of its own).
        answers = [reader.goto(f"{live_server}{path}") for path in (f"/posts/{SLUG}", "/") * 2]
        assert [a.headers.get("x-page-cache") for a in answers[2:]] == ["hit", "hit"]
        expect(reader.locator(".wordmark-name")).not_to_have_text("Night Shift Collective")

        assert sideways(page) <= 0
        page.get_by_label("Site title").fill("Night Shift Collective")
        page.get_by_label("Tagline").fill("Notes from the ward, by the people on it")
        page.get_by_label("Footer disclaimer").fill("Not medical advice. **Ask your nurse.**")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("saved", exact=False).first).to_be_visible()
        assert sideways(page) <= 0
        assert axe_violations(page) == []

        for path in (f"/posts/{SLUG}", "/"):
            reader.goto(live_server + path)
            expect(reader.locator(".wordmark-name")).to_have_text("Night Shift Collective")
            expect(reader.locator(".site-tagline")).to_have_text(
                "Notes from the ward, by the people on it"
            )
            disclaimer = reader.locator("footer .disclaimer")
            expect(disclaimer).to_contain_text("Not medical advice.")
            expect(disclaimer.locator("strong")).to_have_text("Ask your nurse.")
            assert sideways(reader) <= 0, f"{path} scrolls sideways at {width} px"
        assert "Night Shift Collective" in reader.title()
    finally:
        reader.context.close()
