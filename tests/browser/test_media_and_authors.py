"""Issue 17 points 6-8 in Chromium: an image inserted at the cursor (and shown to copy
without JavaScript), served as AVIF/WebP; the author box; a guest remembered in their own
browser; deleting a comment asks first; the 404 page and the footer, at 320 and 1280 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.steps import axe_violations
from tests.builders import make_category, make_comment, make_post, make_user

WIDTHS = (320, 1280)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go (SCREENSHOTS=dir keeps them to look at)."""
    folder = Path(os.environ.get("SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def at_each_width(page, shots: Path, name: str, axe: bool = True):
    """At 320 and 1280 px: no sideways scroll, axe finds nothing, a screenshot to look at."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert no_sideways_scroll(page), f"{name} scrolls sideways at {width} px"
        if axe:
            assert axe_violations(page) == [], f"{name} at {width} px"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)


def sign_in(page, base, username):
    steps.sign_in(page, base, username)
    expect(page.get_by_text("You are signed in.")).to_be_visible()


@pytest.fixture
def writer(app):
    with app.app_context():
        make_category("Advice")
        return make_user(role="author", username="dana").username


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "ward.jpg"
    Image.effect_mandelbrot((1200, 800), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(path)
    return path


def test_an_author_sets_a_profile_and_inserts_an_image_at_the_cursor(
    page, live_server, writer, photo, shots
):
    sign_in(page, live_server, writer)
    page.goto(live_server + "/account")
    page.get_by_label("Display name").fill("Dana Reyes")
    page.get_by_label("Credentials").fill("RN, BSN")
    page.get_by_label("Short bio").fill("Twelve years of night shifts on a cardiac ward.")
    page.get_by_label("Avatar", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    at_each_width(page, shots, "account")

    page.goto(live_server + "/posts/new")
    page.get_by_role("textbox", name="Title").fill("A calmer ward at night")
    body = page.get_by_role("textbox", name="Body")
    body.fill("First paragraph.\n\nLast paragraph.")
    page.get_by_role("textbox", name="Title").press("Enter")  # Enter saves a draft, as before
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    body.evaluate("b => b.setSelectionRange(17, 17)")  # after "First paragraph."
    page.get_by_label("Image to insert").set_input_files(str(photo))
    page.get_by_role("button", name="Upload image").click()
    expect(page.get_by_text("Describe the image for people who can't see it")).to_be_visible()
    page.get_by_label("Image description (alt text)", exact=True).fill("A quiet ward at dusk")
    page.get_by_role("button", name="Upload image").click()
    expect(page.get_by_text("Image uploaded and inserted into the body.")).to_be_visible()
    text = body.input_value()
    assert text.startswith("First paragraph.\n\n![A quiet ward at dusk](/uploads/")
    assert text.endswith(")\n\nLast paragraph.")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert axe_violations(page) == []
    page.screenshot(path=str(shots / "editor-1280.png"), full_page=True)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Post published.")).to_be_visible()

    page.goto(live_server + "/posts/a-calmer-ward-at-night")
    image = page.get_by_role("img", name="A quiet ward at dusk")
    expect(image).to_be_visible()
    image.evaluate("i => i.decode()")
    chosen = image.evaluate("i => i.currentSrc")
    assert chosen.endswith((".avif", ".webp")), chosen  # a modern copy, not the JPEG
    assert image.evaluate("i => i.naturalWidth") > 0
    box = page.get_by_role("region", name="About the author")
    expect(box).to_contain_text("Dana Reyes, RN, BSN")
    expect(box).to_contain_text("Twelve years of night shifts")
    assert box.locator("img.avatar").evaluate("i => i.complete && i.naturalWidth") > 0
    at_each_width(page, shots, "post-with-image")

    page.goto(live_server + "/media")
    expect(page.get_by_text("Used in: A calmer ward at night")).to_be_visible()
    at_each_width(page, shots, "media")
    page.get_by_role("link", name="Delete image “A quiet ward at dusk”").click()
    expect(page.get_by_text("This image is in use")).to_be_visible()
    at_each_width(page, shots, "media-delete")


def test_without_javascript_the_editor_shows_the_markdown_to_copy(
    browser, live_server, writer, photo
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, writer)
    page.goto(live_server + "/posts/new")
    page.get_by_role("textbox", name="Title").fill("Kept while uploading")
    page.get_by_label("Image to insert").set_input_files(str(photo))
    page.get_by_label("Image description (alt text)", exact=True).fill("Hands at a sink")
    page.get_by_role("button", name="Upload image").click()
    expect(page.get_by_text("Copy this line into the body")).to_be_visible()
    copy = page.get_by_label("Markdown for the image")
    assert copy.input_value().startswith("![Hands at a sink](/uploads/")
    expect(page.get_by_role("textbox", name="Title")).to_have_value("Kept while uploading")
    context.close()


@pytest.fixture
def discussion(app):
    with app.app_context():
        make_category("News")
        member = make_user("marta", display_name="Marta")
        first = make_post(title="Handover notes that help")
        make_post(title="Rest between shifts")
        make_comment(first, body="My own comment", user_id=member.id, guest_name="")
        return first.slug


def test_a_guest_is_remembered_in_their_browser_only(page, live_server, discussion):
    page.goto(f"{live_server}/posts/{discussion}")
    form = page.locator("#comment-form")
    form.get_by_label("Name").fill("Guest Gail")
    form.get_by_label("Email").fill("gail@example.org")
    form.get_by_role("textbox", name="Comment").fill("Thanks for this.")
    form.get_by_label("Remember these details in this browser").check()
    form.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("held for review")).to_be_visible()
    page.goto(f"{live_server}/posts/rest-between-shifts")
    expect(form.get_by_label("Name")).to_have_value("Guest Gail")
    expect(form.get_by_label("Email")).to_have_value("gail@example.org")
    stored = page.evaluate("localStorage.getItem('alliedup-blog:guest-commenter')")
    assert "gail@example.org" in stored
    assert "gail@example.org" not in str(page.context.cookies())  # nothing server-side
    form.get_by_label("Remember these details in this browser").uncheck()
    form.get_by_role("textbox", name="Comment").fill("Forget me.")
    form.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("held for review")).to_be_visible()
    assert page.evaluate("localStorage.getItem('alliedup-blog:guest-commenter')") is None


def test_deleting_a_comment_asks_first_and_missing_pages_help(page, live_server, discussion, shots):
    sign_in(page, live_server, "marta")
    page.goto(f"{live_server}/posts/{discussion}")
    page.get_by_role("link", name="Delete comment by Marta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this comment?")
    at_each_width(page, shots, "comment-delete")
    page.get_by_role("button", name="Delete comment").click()
    expect(page.get_by_text("The comment is deleted.")).to_be_visible()

    response = page.goto(f"{live_server}/posts/not-here")
    assert response.status == 404
    page.problems.clear()  # the console's note about the 404 we asked for
    expect(page.get_by_role("heading", level=1)).to_have_text("We couldn't find that page")
    footer = page.get_by_role("contentinfo")
    expect(footer.get_by_role("navigation", name="Categories")).to_contain_text("News")
    expect(footer.get_by_role("navigation", name="Archive")).to_be_visible()
    at_each_width(page, shots, "not-found")
    page.get_by_role("searchbox", name="Search the blog").fill("handover")
    page.get_by_role("searchbox", name="Search the blog").press("Enter")
    expect(page.get_by_role("link", name="Handover notes that help")).to_be_visible()
