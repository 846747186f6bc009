"""A cookieless visitor in Chromium: two tabs opened at once both post on the first press.

Issue 15 point 5. Before, each tab's page started its own session (a CSRF secret in a new
cookie); the second tab's cookie replaced the first's, so the first tab's first press
failed. Now the guest form carries the guest token, which no cookie holds. Without
JavaScript the guest form posts too.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Comment
from tests.builders import make_post


@pytest.fixture
def slug(app):
    with app.app_context():
        return make_post(title="Two tabs at once").slug


def open_tab(context, url: str, problems: list[str]):
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    response = tab.goto(url)
    assert response.status == 200
    assert "set-cookie" not in response.headers, "reading a post starts no session"
    return tab


def fill_guest_form(tab, name: str, email: str, text: str) -> None:
    tab.get_by_label("Name").fill(name)
    tab.get_by_label("Email", exact=True).fill(email)
    tab.get_by_label("Comment", exact=True).fill(text)


def stored_bodies(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Comment.body_md)))


def test_two_tabs_opened_at_once_by_a_cookieless_visitor_both_post_on_the_first_press(
    browser, live_server, app, slug
):
    context = browser.new_context()
    problems: list[str] = []
    url = f"{live_server}/posts/{slug}"
    first, second = open_tab(context, url, problems), open_tab(context, url, problems)
    assert context.cookies() == [], "neither tab got a cookie"
    fill_guest_form(first, "Tab One", "one@example.org", "Written in the first tab")
    fill_guest_form(second, "Tab Two", "two@example.org", "Written in the second tab")

    second.get_by_role("button", name="Post comment").click()  # the later tab first
    expect(second.get_by_role("status")).to_contain_text("held for review")
    assert context.cookies(), "posting keeps the held comment in a session"
    first.get_by_role("button", name="Post comment").click()
    expect(first.get_by_role("status")).to_contain_text("held for review")
    held = first.locator(".comment-held")  # one browser, one session: both are theirs
    expect(held).to_have_count(2)
    expect(held.nth(0)).to_contain_text("Written in the second tab")
    expect(held.nth(1)).to_contain_text("Written in the first tab")

    assert {"Written in the first tab", "Written in the second tab"} <= stored_bodies(app)
    assert not problems, problems
    context.close()


def test_without_javascript_the_guest_form_posts_on_the_first_press(
    browser, live_server, app, slug
):
    context = browser.new_context(java_script_enabled=False)
    tab = open_tab(context, f"{live_server}/posts/{slug}", [])
    fill_guest_form(tab, "No Script", "noscript@example.org", "Posted without JavaScript")
    tab.get_by_role("button", name="Post comment").click()
    expect(tab.get_by_role("status")).to_contain_text("held for review")
    assert "Posted without JavaScript" in stored_bodies(app)
    context.close()
