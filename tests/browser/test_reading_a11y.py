"""Every public page type in Chromium: it renders, and axe-core finds no violations."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from blogapp.demo import seed_demo
from blogapp.extensions import db
from blogapp.models import Post, PostKind
from tests.browser.steps import axe_violations
from tests.builders import make_comment, make_post

SEED = "/posts/empathy-in-action-fostering-patient-trust"


@pytest.fixture
def content(app):
    with app.app_context():
        seed_demo()
        make_post(title="About the co-op", kind=PostKind.PAGE, body="## Who we are\n\nWorkers.")
        post = db.session.scalar(select(Post).where(Post.slug == SEED.rsplit("/", 1)[1]))
        make_comment(post, guest_name="Rosa", guest_email="rosa@example.org")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        SEED,
        "/category/advice",
        "/tag/empathy",
        "/author/alliedup",
        "/archive/2024/1",
        "/pages/about-the-co-op",
        "/no-such-page",
        "/auth/login",
        "/auth/register",
        "/auth/reset",
        "/search",
        "/search?q=empathy",
        "/comments/1/reply",
    ],
)
def test_public_pages_have_no_axe_violations(page, live_server, content, path):
    response = page.goto(live_server + path)
    if path == "/no-such-page":
        assert response.status == 404
        page.problems.clear()  # the console's own note about the 404 we asked for
    expect(page.locator("h1")).to_have_count(1)
    assert axe_violations(page) == []


def test_article_reads_as_written(page, live_server, content):
    page.goto(live_server + "/")
    page.get_by_role("link", name="Empathy in Action: Fostering Patient Trust").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Empathy in Action: Fostering Patient Trust"
    )
    expect(
        page.get_by_role("heading", level=2, name="Patient Trust is Pivotal to Quality Care")
    ).to_be_visible()
    expect(
        page.get_by_role("heading", level=3, name="Training for Empathetic Care")
    ).to_be_visible()
    page.get_by_role("navigation", name="Contents").get_by_role(
        "link", name="Cultivating a Culture of Empathy"
    ).click()
    # The jump is a same-page navigation that lands a moment after the click: wait for it.
    expect(page).to_have_url(re.compile(r"#cultivating-a-culture-of-empathy$"))


def test_skip_link_moves_focus_to_main(page, live_server, content):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()


def test_narrow_screen_has_no_horizontal_scroll(page, live_server, content):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server + SEED)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
