"""The reader's pages in Chromium (issue 22): print, copy link, the contents beside the
article on wide screens, one column on phones, the skip link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.builders import make_post

SEED = "/posts/empathy-in-action-fostering-patient-trust"
PRINTED = "/posts/printing-advice-for-a-patient"


@pytest.fixture
def content(app, reader_content):
    with app.app_context():
        make_post(
            title="Printing advice for a patient",
            body="## Before\n\nSee [the guidance](https://example.org/guidance).\n\n"
            "## During\n\nWords.\n\n## After\n\nMore words.",
            review_history_note="Medically reviewed by Jane Doe, RN, MSN on March 3, 2024",
            published_ago=timedelta(days=3),  # the post with a cover stays the home page's lead
        )


def test_a_printed_post_has_no_navigation_or_forms_and_keeps_who_vouches_for_it(
    page, live_server, content
):
    page.goto(live_server + PRINTED)
    assert page.locator("form").count() >= 3  # search, newsletter, comment form on screen
    page.emulate_media(media="print")
    for selector in ("nav", "form", "button", ".share", ".skip-link"):
        shown = page.locator(selector).evaluate_all(
            "els => els.filter(e => e.checkVisibility()).length"
        )
        assert shown == 0, selector
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".reviewed")).to_contain_text("Medically reviewed by Jane Doe, RN, MSN")
    expect(page.locator(".post-meta time")).to_be_visible()
    expect(page.locator(".post-body")).to_be_visible()
    after = page.locator(".post-body a[href^='https']").evaluate(
        "a => getComputedStyle(a, '::after').content"
    )
    assert "https://example.org/guidance" in after  # the address printed after the link
    expect(page.locator(".print-source")).to_have_text(f"Online at {live_server}{PRINTED}")
    page.emulate_media(media="screen")
    expect(page.locator(".print-source")).to_be_hidden()


def test_copy_link_copies_the_posts_address(page, live_server, content):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(live_server + SEED)
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Link copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == live_server + SEED


def test_without_javascript_copy_link_is_not_offered(browser, live_server, content):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + SEED)
    expect(page.get_by_role("button", name="Copy link")).to_have_count(0)
    expect(page.get_by_role("link", name="Email")).to_be_visible()
    context.close()


def test_contents_sit_beside_the_article_on_wide_screens_and_above_it_on_narrow(
    page, live_server, content
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + SEED)
    toc = page.get_by_role("navigation", name="Contents").bounding_box()
    body = page.locator(".post-body").bounding_box()
    assert toc["x"] >= body["x"] + body["width"]  # to the right of the text
    page.mouse.wheel(0, 1500)  # it stays in view while reading
    expect(page.get_by_role("navigation", name="Contents")).to_be_in_viewport()
    page.set_viewport_size({"width": 768, "height": 900})
    toc = page.get_by_role("navigation", name="Contents").bounding_box()
    body = page.locator(".post-body").bounding_box()
    assert toc["y"] + toc["height"] <= body["y"] and toc["x"] == body["x"]


def test_article_text_keeps_a_comfortable_measure(page, live_server, content):
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server + SEED)
        characters = page.locator(".post-body p").first.evaluate(
            """p => { const size = parseFloat(getComputedStyle(p).fontSize);
                      return p.getBoundingClientRect().width / (size * 0.5); }"""
        )
        assert 55 <= characters <= 80, (width, characters)  # ~0.5em a character


@pytest.mark.parametrize("path", ["/", "/category/advice"])
def test_cards_are_one_column_on_phones_and_a_grid_on_wide_screens(
    page, live_server, content, path
):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server + path)
    lefts = page.locator(".post-card").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().left))"
    )
    assert len(lefts) >= 2 and len(set(lefts)) == 1
    page.set_viewport_size({"width": 1280, "height": 900})
    lefts = page.locator(".card-grid .post-card, .lead .post-card").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().left))"
    )
    if path == "/":
        # The lead's cover sits beside its text on a wide screen.
        cover = page.locator(".lead img").bounding_box()
        title = page.locator(".lead .card-title").bounding_box()
        assert cover["x"] + cover["width"] <= title["x"]
    assert len(lefts) >= 2


@pytest.mark.parametrize("path", ["/", SEED, "/category/advice", "/search?q=empathy"])
def test_no_horizontal_scroll_at_320_pixels(page, live_server, content, path):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server + path)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_skip_link_is_visible_when_it_has_focus(page, live_server, content, theme):
    page.emulate_media(color_scheme=theme)
    page.goto(live_server + "/")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] >= 24
