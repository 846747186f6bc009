"""Site settings at /admin/settings: stored, shown to everyone at once, validated like a form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Category, Post, PostKind, Setting
from tests.builders import make_category, make_post, make_user
from tests.helpers import AuthActions, csrf_token, post_form
from tests.test_comments import add, status_of


@pytest.fixture
def app(cached_app):
    """The page cache on: settings must invalidate it."""
    return cached_app


@pytest.fixture
def site(app):
    with app.app_context():
        make_user("boss", role="admin")
        make_user("writer", role="author")
        news, advice = make_category("News"), make_category("Advice")
        about = make_post(title="About us", kind=PostKind.PAGE)
        return {"news": news.id, "advice": advice.id, "about": about.id}


@pytest.fixture
def admin(app, site):
    client = app.test_client()
    AuthActions(client).login("boss")
    return client


def form_values(client) -> dict:
    """What the settings form holds now, as a browser would send it back."""
    page = client.get("/admin/settings").text
    data: dict = {}
    for tag in re.findall(r"<input[^>]*>|<textarea[^>]*>.*?</textarea>", page, re.S):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        name = name.group(1)
        if tag.startswith("<textarea"):
            data[name] = re.sub(r"<textarea[^>]*>\n?|</textarea>", "", tag)
        elif 'type="checkbox"' in tag:
            if "checked" in tag:
                data.setdefault(name, []).append(re.search(r'value="([^"]+)"', tag).group(1))
        else:
            value = re.search(r'value="([^"]*)"', tag)
            data[name] = value.group(1) if value else ""
    return data


def save(client, **changes):
    data = {**form_values(client), **changes}
    return client.post("/admin/settings", data=data)


def header_nav(page: str) -> list[str]:
    nav = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", nav)


def footer_nav(page: str) -> list[str]:
    found = re.search(r'<nav aria-label="Site pages">(.*?)</nav>', page, re.S)
    return re.findall(r">([^<>]+)</a>", found.group(1)) if found else []


def test_defaults_come_from_config(app, site, admin):
    page = app.test_client().get("/").text
    assert "The AlliedUP Co-op Blog" in page and "Healthcare news, advice" in page
    assert "<strong>Information, not medical advice.</strong>" in page
    assert header_nav(page) == ["Home", "Advice", "News"]
    assert footer_nav(page) == ["About us"]
    form = admin.get("/admin/settings").text
    assert 'value="The AlliedUP Co-op Blog"' in form
    assert re.search(r'id="comment_max_links" [^>]*value="2"', form)


def test_a_change_shows_on_the_next_request_for_everyone_even_cached_pages(app, site, admin):
    reader = app.test_client()
    assert reader.get("/").headers["X-Page-Cache"] == "miss"
    assert reader.get("/").headers["X-Page-Cache"] == "hit"  # stored for anonymous readers
    response = save(
        admin,
        title="Co-op Notes",
        tagline="From the floor",
        disclaimer="Not advice. See [our policy](https://example.org/policy).",
    )
    assert response.status_code == 302
    assert "Settings saved" in admin.get(response.headers["Location"]).text
    page = reader.get("/")
    assert page.headers["X-Page-Cache"] == "miss"  # the cache was invalidated by the save
    assert "<title>Co-op Notes</title>" in page.text and "From the floor" in page.text
    assert "Information, not medical advice" not in page.text
    assert '<a href="https://example.org/policy" rel="nofollow ugc noopener">our policy</a>' in (
        page.text
    )
    assert "Co-op Notes" in reader.get("/feed.xml").text


def test_navigation_order_and_places(app, site, admin):
    news, advice = f"category:{site['news']}", f"category:{site['advice']}"
    about = f"page:{site['about']}"
    response = save(
        admin,
        header_show=[news, about],  # Advice hidden from the header
        **{f"header_position_{news}": "1", f"header_position_{about}": "2"},
        footer_show=[advice, about],
        **{f"footer_position_{advice}": "2", f"footer_position_{about}": "1"},
    )
    assert response.status_code == 302
    page = app.test_client().get("/").text
    assert header_nav(page) == ["Home", "News", "About us"]
    assert footer_nav(page) == ["About us", "Advice"]
    # A category added later shows at the end of both places, until it is arranged.
    with app.app_context():
        make_category("Updates")
    page = app.test_client().get("/").text
    assert header_nav(page) == ["Home", "News", "About us", "Updates"]
    assert footer_nav(page) == ["About us", "Advice", "Updates"]
    # The form shows the arrangement back: News first in the header, Advice unticked.
    form = admin.get("/admin/settings").text
    assert re.search(
        rf'id="header-category-{site["advice"]}-show" name="header_show" value="{advice}">', form
    )


def test_comment_rule_numbers_apply(app, site, admin):
    assert (
        save(
            admin, comment_max_links="0", comment_edit_minutes="0", comments_close_after_days="3"
        ).status_code
        == 302
    )
    with app.app_context():
        fresh = make_post(title="Fresh")
        old = make_post(title="Old", published_ago=timedelta(days=4))
        fresh_slug, old_slug = fresh.slug, old.slug
    member = app.test_client()
    with app.app_context():
        mia = make_user("mia").id
    AuthActions(member).login("mia")
    # One link is now too many: held, and told why.
    add_response = post_form(
        member, f"/posts/{fresh_slug}/comments", {"body": "See https://example.org"}
    )
    assert add_response.status_code == 302
    with app.app_context():
        from blogapp.models import Comment

        comment = db.session.scalar(select(Comment).where(Comment.body_md.contains("example")))
        assert comment.status == "pending"
        assert "more than 0 links" in comment.held_reason
    # Editing is off.
    comment_id = add(app, fresh_slug, "A plain comment", user=mia)
    assert member.get(f"/comments/{comment_id}/edit").status_code == 403
    # Comments close three days after publishing.
    closed = app.test_client().get(f"/posts/{old_slug}").text
    assert "Comments close 3 days after a post is published" in closed
    assert status_of(app, comment_id) == "approved"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"title": "   "}, "Give the site a title."),
        ({"title": "x" * 101}, "Field cannot be longer than 100 characters."),
        ({"comment_max_links": "lots"}, "Give a whole number from 0 to 50."),
        ({"comment_edit_minutes": "-1"}, "Give a whole number from 0 to 1440."),
        ({"comments_close_after_days": "99999999999999999999"}, "from 0 to 3650"),
        ({"comment_max_links": ""}, "Give a whole number from 0 to 50."),
    ],
)
def test_bad_input_gives_a_message_and_keeps_the_form(app, site, admin, changes, message):
    response = save(admin, tagline="Typed <b>tagline</b>\r\nwith a break", **changes)
    assert response.status_code == 400
    assert "The settings weren&#39;t saved" in response.text or "weren't saved" in response.text
    assert message in response.text
    assert "Typed &lt;b&gt;tagline&lt;/b&gt;" in response.text  # what they typed is still there
    with app.app_context():
        assert db.session.scalar(select(Setting).where(Setting.key == "site.tagline")) is None


def test_a_bad_position_is_marked_and_nothing_is_saved(app, site, admin):
    news = f"category:{site['news']}"
    response = save(admin, title="Kept title", **{f"header_position_{news}": "first"})
    for odd in ("²", "0", "-1", "1000", "99999999999999999999", "١"):
        assert save(admin, **{f"header_position_{news}": odd}).status_code == 400, odd
    assert response.status_code == 400
    assert "Give a position from 1 to 999, or leave it empty." in response.text
    assert 'value="first"' in response.text and 'value="Kept title"' in response.text
    assert "Kept title" not in app.test_client().get("/").text


def test_an_expired_form_comes_back_as_typed(app, site, admin):
    data = form_values(admin)
    data.pop("csrf_token")
    response = admin.post("/admin/settings", data={**data, "title": "Typed before expiry"})
    assert response.status_code == 400
    assert "Your form had expired, so nothing was saved" in response.text
    assert 'value="Typed before expiry"' in response.text
    assert "Typed before expiry" not in app.test_client().get("/").text


def test_odd_text_is_stored_plainly_and_escaped(app, site, admin):
    title = "<script>alert(1)</script> Co\u202eop\u0000"
    response = save(admin, title=title, disclaimer="<img src=x onerror=alert(1)> **Care**")
    assert response.status_code in (302, 400)
    page = app.test_client().get("/").text
    assert "<script>alert(1)" not in page and "onerror" not in page
    if response.status_code == 302:
        assert "&lt;script&gt;" in page
        assert "<strong>Care</strong>" in page


def test_only_admins_reach_settings(app, site):
    writer = app.test_client()
    AuthActions(writer).login("writer")
    assert writer.get("/admin/settings").status_code == 403
    token = csrf_token(writer, "/")
    assert (
        writer.post("/admin/settings", data={"csrf_token": token, "title": "X"}).status_code == 403
    )
    assert app.test_client().get("/admin/settings").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Category)).all()
        assert db.session.scalar(select(Setting).where(Setting.key == "site.title")) is None
        assert db.session.scalar(select(Post.id)) is not None
