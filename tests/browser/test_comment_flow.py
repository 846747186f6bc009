"""A discussion in Chromium: guest, admin, member and a returning guest, as people do it."""

import re

import pytest
from playwright.sync_api import expect

from blogapp.models import Role
from tests.browser.steps import axe_violations, sign_in, sign_out
from tests.builders import make_comment, make_post, make_user


@pytest.fixture
def discussion(app):
    with app.app_context():
        writer = make_user("writer", role=Role.AUTHOR, display_name="Wren Writer")
        make_user("boss", role=Role.ADMIN)
        make_user("mia", display_name="Mia Member")
        return make_post(writer, title="Handoffs that work").slug


def guest_comment(page, base, slug, text, name="Gale Guest", email="gale@example.org"):
    page.goto(f"{base}/posts/{slug}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Post comment").click()


def test_a_discussion_from_guest_to_member(page, live_server, discussion):
    base, slug = live_server, discussion

    # A guest comments and is told it waits for review; they alone see it meanwhile.
    guest_comment(page, base, slug, "How do you hand off at 7am?")
    expect(page.get_by_role("status")).to_contain_text("held for review")
    held = page.locator(".comment-held")
    expect(held).to_contain_text("How do you hand off at 7am?")
    expect(held).to_contain_text("only you can see this comment")
    assert page.url.endswith(re.search(r"#comment-\d+", page.url).group(0))
    assert axe_violations(page) == []

    # An admin approves it from the queue, with the keyboard-usable checkbox and button.
    page.context.clear_cookies()
    sign_in(page, base, "boss")
    page.goto(base + "/admin/comments")
    assert axe_violations(page) == []
    page.get_by_label(re.compile("Select comment .* by Gale Guest")).check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_role("status")).to_contain_text("1 comment approved")
    sign_out(page)

    # A member replies (inline form, opened by JavaScript) and the reply nests under it.
    sign_in(page, base, "mia")
    page.goto(f"{base}/posts/{slug}")
    page.get_by_role("link", name="Reply to Gale Guest").click()
    page.get_by_label("Comment", exact=True).fill("We use a checklist at the bedside.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("status")).to_contain_text("published")
    guest_item = page.locator("li.comment", has_text="How do you hand off").first
    reply = guest_item.locator(".comment-replies > li.comment")
    expect(reply).to_contain_text("We use a checklist at the bedside.")
    expect(reply).to_contain_text("Mia Member")

    # The member fixes their reply within the edit window.
    reply.get_by_role("link", name="Edit").click()
    page.get_by_label("Comment", exact=True).fill("We use a written checklist at the bedside.")
    page.get_by_role("button", name="Save comment").click()
    reply = page.locator(".comment-replies > li.comment")
    expect(reply).to_contain_text("We use a written checklist at the bedside.")
    expect(reply).to_contain_text("(edited)")
    assert axe_violations(page) == []
    page.context.clear_cookies()

    # The same guest's email now has an approved comment: the next one publishes at once.
    guest_comment(page, base, slug, "Thanks, that helps!")
    expect(page.get_by_role("status")).to_contain_text("Your comment is published")
    expect(
        page.locator("li.comment:not(.comment-held)", has_text="Thanks, that helps!")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Comments (3)")).to_be_visible()


def test_phone_number_is_held_with_the_reason(page, live_server, discussion):
    sign_in(page, live_server, "mia")
    page.goto(f"{live_server}/posts/{discussion}")
    page.get_by_label("Comment", exact=True).fill("Text me on 555-201-3344 about shifts")
    page.get_by_role("button", name="Post comment").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("held for review")
    expect(status).to_contain_text("seems to contain a phone number")
    expect(page.locator(".comment-held")).to_contain_text("Text me on")


def test_reply_page_works_without_javascript(browser, live_server, discussion, app):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    guest_comment(page, live_server, discussion, "Any tips?", email="t@example.org")
    page.goto(f"{live_server}/auth/login")
    page.context.clear_cookies()
    sign_in(page, live_server, "writer")  # the post's author: comments publish at once
    page.goto(f"{live_server}/posts/{discussion}")
    page.get_by_label("Comment", exact=True).fill("Start with the plan.")
    page.get_by_role("button", name="Post comment").click()
    page.get_by_role("link", name="Reply to Wren Writer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reply to Wren Writer")
    page.get_by_label("Comment", exact=True).fill("Then the risks.")
    page.get_by_role("button", name="Post reply").click()
    nested = page.locator("li.comment", has_text="Start with the plan.").locator(".comment-replies")
    expect(nested).to_contain_text("Then the risks.")
    expect(page.locator("li.comment", has_text="Start with the plan.").first).to_contain_text(
        "Post author"
    )
    context.close()


def test_narrow_screen_deep_thread_does_not_scroll_sideways(page, live_server, discussion, app):
    from sqlalchemy import select

    from blogapp.extensions import db
    from blogapp.models import Post

    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == discussion))
        parent = None
        for depth in range(12):
            body = f"depth {depth} " + "word " * 30
            parent = make_comment(post, body, parent=parent, guest_name="G", commit=False)
        db.session.commit()
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}/posts/{discussion}")
    expect(page.get_by_text("depth 11")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    expect(page.locator(".comment-replies")).to_have_count(11)
