"""What people typed survives a failed form token (issue 15, point 5).

Each form is sent with a stale token (as after a lost cookie or another tab): it comes
back as typed, with a message and a fresh token, and sending that page's form works.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Category, Comment, Role
from tests.builders import make_category, make_comment, make_post, make_user
from tests.helpers import CSRF_INPUT, FROM_THIS_SITE, AuthActions

TYPED = "An hour of careful writing about night shifts"
STALE = "IjA5NmQ2ZjE4YjM2NzZiZDc.stale.token"
MESSAGE = "Your form had expired, so nothing was saved."


@pytest.fixture
def world(app):
    with app.app_context():
        make_user("boss", role=Role.ADMIN)
        member = make_user("mia")
        post = make_post(title="Open thread")
        mine = make_comment(post, "My first words", user_id=member.id, guest_name="")
        other = make_comment(post, "Someone else's words")
        news = make_category("News")
        return {"slug": post.slug, "mine": mine.id, "other": other.id, "news": news.id}


# (who, page with the form, where it posts, fields, what proves it was saved)
FORMS = {
    "comment": (None, "/posts/{slug}", "/posts/{slug}/comments",
                {"name": "Ana", "email": "ana@example.org", "body": TYPED}),
    "reply": (None, "/comments/{other}/reply", "/posts/{slug}/comments",
              {"name": "Ana", "email": "ana@example.org", "body": TYPED, "parent_id": "{other}"}),
    "comment edit": ("mia", "/comments/{mine}/edit", "/comments/{mine}/edit", {"body": TYPED}),
    "profile": ("mia", "/account", "/account", {"display_name": "Mia M", "bio": TYPED}),
    "register": (None, "/auth/register", "/auth/register",
                 {"username": "newbie", "email": "newbie@example.org",
                  "password": "lanterns over the ward", "confirm": "lanterns over the ward"}),
    "category": ("boss", "/admin/categories", "/admin/categories",
                 {"name": "Night care", "description": TYPED}),
    "category rename": ("boss", "/admin/categories", "/admin/categories/{news}/rename",
                        {"c{news}-name": "Headlines about night care"}),
    "word list": ("boss", "/admin/comments", "/admin/comments/words", {"words": TYPED}),
}  # fmt: skip


def fill(text: str, world: dict) -> str:
    return text.format(**world)


@pytest.mark.parametrize("form", list(FORMS))
def test_a_form_with_a_stale_token_comes_back_as_typed_and_posts_next_time(
    app, client, world, form
):
    who, page, action, fields = FORMS[form]
    if who:
        AuthActions(client).login(who)
    fields = {fill(k, world): fill(v, world) for k, v in fields.items()}
    client.get(fill(page, world))  # the page was open: its session has a token, not this one
    response = client.post(fill(action, world), data={**fields, "csrf_token": STALE})
    assert response.status_code == 400
    shown = [v for k, v in fields.items() if k not in ("password", "confirm")][-1]
    assert shown.replace("'", "&#39;") in response.text, "what was typed came back"
    assert MESSAGE in response.text
    fresh = CSRF_INPUT.findall(response.text)
    assert fresh and STALE not in fresh
    again = client.post(
        fill(action, world), data={**fields, "csrf_token": fresh[-1]}, follow_redirects=False
    )
    assert again.status_code == 302, again.text[:2000]


def test_two_tabs_opened_at_once_by_a_cookieless_visitor_both_post(app, world):
    """Neither tab's page started a session: both carry the guest token, and both post.

    (Before, each tab started its own session; the second cookie won and the first tab's
    first press failed.) One browser, so one cookie jar: the first post's cookie is sent
    with the second.
    """
    slug, data = world["slug"], {"name": "Ana", "email": "ana@example.org"}
    browser = app.test_client()
    first_page, second_page = browser.get(f"/posts/{slug}"), browser.get(f"/posts/{slug}")
    assert "Set-Cookie" not in first_page.headers and "Set-Cookie" not in second_page.headers
    first_token = CSRF_INPUT.findall(first_page.text)[-1]
    second_token = CSRF_INPUT.findall(second_page.text)[-1]
    for body, token in (("From tab two", second_token), ("From tab one", first_token)):
        sent = browser.post(
            f"/posts/{slug}/comments",
            data={**data, "body": body, "csrf_token": token},
            headers=FROM_THIS_SITE,
        )
        assert sent.status_code == 302, sent.text[:2000]
    with app.app_context():
        bodies = set(db.session.scalars(select(Comment.body_md)))
        assert {"From tab one", "From tab two"} <= bodies
        assert db.session.scalar(select(Category).where(Category.name == "News"))
