"""Every staff page in Chromium, on a phone and a laptop: no sideways scroll, no word broken
mid-letter, tap targets of 44 px, axe finds nothing; and the staff bar and queue by keyboard.

One browser session and one set of data for every page. STAFF_SCREENSHOTS=DIR also saves
each page at 320 and 1280 px there, to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from blogapp.models import CommentStatus, PostKind, PostStatus, Role
from tests.browser import steps
from tests.browser.steps import axe_violations
from tests.builders import make_category, make_comment, make_post, make_user

SHOTS = os.environ.get("STAFF_SCREENSHOTS")
WIDTHS = (320, 1280)
# Interactive things a finger aims at. Links inside running text are exempt (WCAG 2.5.8),
# so links count only in navigation, pagination and action cells.
TAP_TARGETS = """
button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea,
.button, nav a, .pagination a, .row-actions a, .row-actions button, .staff-nav a
"""
# The browser's own measurement of each check, run in the page.
MEASURE = """
([targets, minimum]) => {
  const visible = el => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 1 && box.height > 1 && style.visibility !== "hidden" &&
      !el.closest(".visually-hidden, .skip-link, .hp-field, [hidden]");
  };
  const name = el => (el.getAttribute("aria-label") || el.textContent || el.name || el.id ||
    el.tagName).trim().replace(/\\s+/g, " ").slice(0, 60);
  const small = [];
  for (const el of document.querySelectorAll(targets)) {
    if (!visible(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.height < minimum - 0.5) small.push(`${name(el)}: ${Math.round(box.height)}px`);
  }
  for (const el of document.querySelectorAll("main input[type=checkbox], main input[type=radio]")) {
    if (!visible(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.height < 24 - 0.5) small.push(`${name(el)}: ${Math.round(box.height)}px (box)`);
  }
  // A word split over two lines gives its range more than one line box.
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement || !visible(node.parentElement)) continue;
    for (const match of node.textContent.matchAll(/[^\\s\\-\\u2014\\/@.]{2,}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    small: small,
    broken: broken.slice(0, 10),
  };
}
"""


@pytest.fixture
def staff_world(app):
    """An admin, an author with posts and comments waiting, a long address or two."""
    with app.app_context():
        admin = make_user("boss", role=Role.ADMIN, display_name="Morgan Boss")
        writer = make_user(
            "writer",
            role=Role.AUTHOR,
            email="a.very.long.address.for.a.nurse@community-health-cooperative.example.org",
        )
        make_user("mia", confirmed=False)
        make_user("suspended_member", suspended=True)
        category = make_category("Advice")
        make_category("Community updates and announcements")
        post = make_post(
            writer,
            title="Sleeping well between night shifts: a practical guide for new nurses",
            category=category,
        )
        make_post(writer, title="Draft about rotas", status=PostStatus.DRAFT)
        make_post(admin, title="About the co-op", kind=PostKind.PAGE)
        make_comment(post, "Thank you, this helped.", guest_name="Rosa")
        make_comment(
            post,
            "My number is 555-123-4567, call me about shifts.",
            status=CommentStatus.PENDING,
            guest_name="Ana",
            guest_email="ana.longname.of.the.commenter@hospital-staffing-partners.example.org",
            held_reason="Your comment seems to contain a phone number.",
        )
        make_comment(post, "Is this for home care too?", status=CommentStatus.PENDING)
        # The newsletter pages with rows in them: a long address, a failed mail.
        from blogapp.email import queue_email
        from blogapp.extensions import db
        from blogapp.newsletter import services as newsletter

        long_address = "a.very.long.subscriber.address@community-health-cooperative.example.org"
        newsletter.subscribe_confirmed(long_address, newsletter.Choices("weekly", (category.id,)))
        failed = queue_email(long_address, "A mail that could not be delivered", "Text")
        db.session.flush()
        failed.status, failed.attempts = "failed", 8
        failed.last_error = "(550, b'5.1.1 The account that you tried to reach does not exist')"
        db.session.commit()
        return {"post": post.slug}


def sign_in(page, base, username):
    steps.sign_in(page, base, username)
    expect(page.get_by_role("navigation", name="Staff")).to_be_visible()


def staff_pages(world) -> list[str]:
    slug = world["post"]
    return [
        "/dashboard",
        "/posts/new",
        f"/posts/{slug}/edit",
        f"/posts/{slug}/delete",
        "/admin/comments",
        "/admin/comments?status=approved",
        "/admin/users",
        "/admin/categories",
        "/admin/settings",
        "/admin/subscribers",
        "/admin/mail",
        "/admin/audit",
        "/media",
        "/account",
        "/account/newsletter",
        "/account/email",
        "/account/password",
        "/account/delete",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_staff_page_fits_a_phone_and_a_laptop(page, live_server, staff_world):
    sign_in(page, live_server, "boss")
    problems: dict[str, object] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in staff_pages(staff_world):
            page.goto(live_server + path)
            expect(page.locator("h1").first).to_be_visible()
            found = page.evaluate(MEASURE, [TAP_TARGETS, 44])
            where = f"{path} at {width}px"
            if found["overflow"] > 0:
                problems[f"{where}: scrolls sideways by"] = found["overflow"]
            if width == 320 and found["small"]:
                problems[f"{where}: tap targets under 44px"] = found["small"]
            if width == 1280 and found["broken"]:
                problems[f"{where}: words broken mid-letter"] = found["broken"]
            if violations := axe_violations(page):
                problems[f"{where}: axe"] = violations
            if SHOTS:
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    assert problems == {}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_staff_bar_and_queue_by_keyboard(page, live_server, staff_world):
    sign_in(page, live_server, "writer")
    staff = page.get_by_role("navigation", name="Staff")
    expect(staff.get_by_role("link")).to_have_text(["Write", "Dashboard", "Comments 2 waiting"])
    # From the dashboard, "2 pending" opens that post's queue.
    staff.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name=re.compile(r"^2 pending")).click()
    expect(page).to_have_url(re.compile(r"/admin/comments\?post=\d+$"))
    expect(page.get_by_text("Held: Your comment seems to contain a phone number.")).to_be_visible()
    # Approve a row from the keyboard: focus its button, press Enter.
    approve = page.get_by_role("button", name="Approve comment", exact=False).first
    approve.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"The comment by \w+ was approved\."))).to_be_visible()
    expect(staff.get_by_role("link", name="Comments 1 waiting")).to_be_visible()
    # The queue form takes focus after an action (the #queue target), so Tab goes on from there.
    expect(page).to_have_url(re.compile(r"#queue$"))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('#queue') !== null")
    assert focused
