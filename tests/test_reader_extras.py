"""Small things a reader expects (issue 17): the footer's categories and month archive, a
404 page in the site's words, deleting a comment asks first, a suspended member is told."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, User
from blogapp.posts.services import archive_months
from tests import helpers
from tests.builders import make_category, make_comment, make_post, make_user
from tests.conftest import BACKENDS
from tests.helpers import AuthActions, csrf_token, post_form
from tests.test_cache import enable_cache

WERKZEUG_404 = "The requested URL was not found on the server"


def footer(html: str) -> str:
    return html.split('<footer class="site-footer">')[1]


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_the_footer_lists_categories_and_months_with_posts(app, client):
    with app.app_context():
        make_category("Advice")
        author = make_user(role="author")
        for when in (at(2025, 11), at(2025, 11, 20), at(2026, 2)):
            post = make_post(author)
            post.published_at = when
        make_post(author, status="draft", published_ago=None)
        db.session.commit()
        assert [(m.year, m.month, m.posts) for m in archive_months()] == [
            (2026, 2, 1),
            (2025, 11, 2),
        ]
    html = footer(client.get("/").text)
    assert 'href="/category/advice">Advice</a>' in html
    assert 'href="/archive/2026/2">February 2026</a> <span class="footer-count">(1)' in html
    assert 'href="/archive/2025/11">November 2025</a> <span class="footer-count">(2)' in html
    assert client.get("/archive/2025/11").status_code == 200


def test_the_footer_on_cached_pages_follows_new_categories_and_months(app, client, tmp_path):
    enable_cache(app, tmp_path)
    with app.app_context():
        author_id = make_user(role="author").id
        post = make_post(db.session.get(User, author_id))
        post.published_at = at(2024, 5)
        db.session.commit()
    first = client.get("/")
    assert "May 2024" in footer(first.text) and "Vaccines" not in footer(first.text)
    assert client.get("/").headers["X-Page-Cache"] == "hit"
    with app.app_context():
        make_category("Vaccines")
    assert "Vaccines" in footer(client.get("/").text)
    with app.app_context():
        post = make_post(db.session.get(User, author_id))
        post.published_at = at(2024, 7)
        db.session.commit()
    assert "July 2024" in footer(client.get("/about-nothing").text)  # 404s carry it too
    assert "July 2024" in footer(client.get("/").text)


NOT_FOUND_PATHS = [
    "/no-such-page",
    "/posts/no-such-post",
    "/pages/no-such-page",
    "/category/no-such-category",
    "/tag/no-such-tag",
    "/author/nobody",
    "/archive/2020/13",
    "/uploads/missing.png",
    "/static/missing.css",
    "/comments/999999",
    "/comments/999999/reply",
    "/category/no-such-category/feed.xml",
    "/posts/no-such-post/comments/feed.xml",
    "/?page=999",
    "/2020/01/01/no-such-post/",
]


@pytest.fixture(scope="module", params=BACKENDS)
def blog(request, tmp_path_factory):
    """A blog of one category and one post, built once per database: 404 pages only read it."""
    with helpers.shared_app(request, tmp_path_factory, "notfound") as app:
        with app.app_context():
            make_category("News")
            make_post(title="Only post")
        with helpers.kept_as_is(app):
            yield app


@pytest.mark.parametrize("path", NOT_FOUND_PATHS)
def test_every_missing_page_gets_the_sites_404_page(blog, path):
    response = blog.test_client().get(path)
    assert response.status_code == 404
    html = response.text
    assert "We couldn&#39;t find that page" in html or "We couldn't find that page" in html
    assert WERKZEUG_404 not in html
    assert '<label for="not-found-q">Search the blog</label>' in html
    assert 'href="/category/news">News</a>' in html and 'href="/">The newest posts</a>' in html


def test_a_404_with_its_own_reason_says_it(app, client):
    response = client.get("/comments/moderate/not-a-token")
    assert response.status_code == 404
    assert "This link is not valid or has expired." in response.text
    assert "Search the blog" in response.text


def test_a_404_asked_for_as_json_stays_json(client):
    response = client.get("/nothing-here", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["status"] == 404


# --- deleting one's own comment asks first ------------------------------------------------


@pytest.fixture
def thread(app):
    with app.app_context():
        member = make_user("poster")
        make_user("someone")
        post = make_post(title="Shift swaps")
        comment = make_comment(post, body="My own words", user_id=member.id, guest_name="")
        return {"slug": post.slug, "comment": comment.id}


def test_delete_is_a_link_to_a_page_that_asks_first(app, client, thread):
    AuthActions(client).login("poster")
    page = client.get(f"/posts/{thread['slug']}").text
    path = f"/comments/{thread['comment']}/delete"
    assert f'<a href="{path}">Delete' in page
    assert f'action="{path}"' not in page  # no one-click delete on the post page
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Delete this comment?" in confirm.text and "My own words" in confirm.text
    assert f'action="{path}"' in confirm.text and "Keep it" in confirm.text
    with app.app_context():
        assert db.session.get(Comment, thread["comment"]).status == CommentStatus.APPROVED
    done = post_form(client, path, {"csrf_token": csrf_token(client, path)})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Comment, thread["comment"]) is None or (
            db.session.get(Comment, thread["comment"]).status == CommentStatus.DELETED
        )
    assert client.get(path).status_code in (403, 404)


def test_only_who_may_delete_sees_the_confirmation_page(app, client, thread):
    path = f"/comments/{thread['comment']}/delete"
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    AuthActions(client).login("someone")
    assert client.get(path).status_code == 403
    assert client.get("/comments/999999/delete").status_code == 404


# --- a suspended member is told why their session ended ------------------------------------


@pytest.mark.parametrize("remember", [False, True])
def test_a_suspended_member_is_told_when_their_session_ends(app, client, remember):
    with app.app_context():
        make_user("suspect")
    AuthActions(client).login("suspect", remember=remember)
    assert "Sign out" in client.get("/").text
    with app.app_context():
        from blogapp.auth.services import set_suspended

        set_suspended(db.session.scalar(select(User).where(User.username == "suspect")), True)
    page = client.get("/")
    assert "Your account has been suspended, so you were signed out." in page.text
    assert "Sign out" not in page.text and "Sign in" in page.text
    later = client.get("/")
    assert "suspended" not in later.text  # said once; the session is a guest's now
    assert not re.search(r"remember_token=[^;]+;", later.headers.get("Set-Cookie", ""))
