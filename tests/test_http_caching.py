"""HTTP caching: ETag/Last-Modified with 304 on pages and feeds; fingerprinted static files."""

from __future__ import annotations

import os
import re
import time
from types import SimpleNamespace

import pytest

from blogapp.comments import moderation
from tests.builders import make_post, make_user
from tests.test_cache import enable_cache

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STAMP = re.compile(r'name="stamp"[^>]*value="([^"]+)"')


class Made:
    def __init__(self, post):
        self.id, self.slug = post.id, post.slug


@pytest.fixture
def post(app):
    # No app context is kept open: requests must each get their own `g`, as in production.
    with app.app_context():
        return Made(make_post(title="Conditional requests for nurses"))


@pytest.mark.parametrize("path", ["/", "/feed.xml"])
def test_unchanged_page_answers_304(client, post, path):
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    control = first.headers["Cache-Control"]
    assert "max-age=0" in control  # browsers revalidate: never stale
    assert "s-maxage=1" in control and "public" in control  # a shared cache: one second


def test_post_page_answers_304_to_the_same_visitor(client, post, monkeypatch):
    first = client.get(f"/posts/{post.slug}")
    # A second later the comment form's time stamp is another; the page is the same.
    later = time.time() + 1
    monkeypatch.setattr(moderation, "time", SimpleNamespace(time=lambda: later))
    again = client.get(f"/posts/{post.slug}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    fresh = client.get(f"/posts/{post.slug}")
    assert STAMP.search(fresh.text).group(1) != STAMP.search(first.text).group(1)
    assert fresh.headers["ETag"] == first.headers["ETag"]


def test_changed_page_answers_200_with_the_new_content(client, post, app):
    from blogapp.extensions import db
    from blogapp.models import Post

    etag = client.get("/").headers["ETag"]
    with app.app_context():
        db.session.get(Post, post.id).title = "Retitled for the new policy"
        db.session.commit()
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert "Retitled for the new policy" in again.text
    assert again.headers["ETag"] != etag


def test_page_with_the_guest_form_is_the_same_for_every_anonymous_visitor(app, post):
    """The comment form carries the guest token, not a session's: one ETag for everyone.

    (Before, each visitor's page carried their own token, so its ETag was theirs and the
    page was private.) A member's page still carries their own token and ETag.
    """
    one, two = app.test_client(), app.test_client()
    first = one.get(f"/posts/{post.slug}")
    assert TOKEN.search(first.text), "the post page carries the comment form"
    second = two.get(f"/posts/{post.slug}")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "public" in first.headers["Cache-Control"]
    assert "Set-Cookie" not in first.headers
    assert (
        two.get(f"/posts/{post.slug}", headers={"If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )
    with app.app_context():
        make_user(username="kofi")
    member = app.test_client()
    from tests.helpers import AuthActions

    AuthActions(member).login("kofi")
    mine = member.get(f"/posts/{post.slug}")
    assert mine.headers["ETag"] != first.headers["ETag"]
    assert "private" in mine.headers["Cache-Control"]  # shared caches must not keep it
    # An anonymous page's tag never matches a member's page.
    crossed = member.get(f"/posts/{post.slug}", headers={"If-None-Match": first.headers["ETag"]})
    assert crossed.status_code == 200


def test_cached_pages_send_last_modified_and_honour_if_modified_since(app, client, post, tmp_path):
    enable_cache(app, tmp_path)
    first = client.get("/")
    assert first.headers["X-Page-Cache"] == "miss"
    stamp = first.headers["Last-Modified"]
    again = client.get("/", headers={"If-Modified-Since": stamp})
    assert again.status_code == 304
    assert again.headers["X-Page-Cache"] == "hit"
    by_tag = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert by_tag.status_code == 304


def test_cached_feed_answers_304(app, client, post, tmp_path):
    enable_cache(app, tmp_path)
    first = client.get("/feed.xml")
    second = client.get("/feed.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304
    assert second.headers["X-Page-Cache"] == "hit"


def test_signed_in_pages_are_private(app, client, auth):
    with app.app_context():
        make_user(username="kofi")
    auth.login("kofi")
    page = client.get("/")
    assert "private" in page.headers["Cache-Control"]


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_urls_are_fingerprinted_and_immutable(client, post):
    urls = static_urls(client.get("/").text)
    stylesheet = next(url for url in urls if "site.css" in url)
    assert re.search(r"\?v=[0-9a-f]{8,}$", stylesheet)
    response = client.get(stylesheet)
    assert response.status_code == 200
    control = response.headers["Cache-Control"]
    assert "max-age=31536000" in control
    assert "immutable" in control
    assert "public" in control
    assert "no-cache" not in control


@pytest.mark.parametrize("query", ["", "?v=0000000000"])
def test_static_without_the_current_fingerprint_is_revalidated(client, query):
    response = client.get("/static/css/site.css" + query)
    assert response.status_code == 200
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_fingerprint_follows_the_file_content(app, tmp_path):
    from flask import url_for

    static = tmp_path / "static"
    static.mkdir()
    (static / "x.css").write_text("a{}")
    app.static_folder = str(static)
    with app.test_request_context():
        before = url_for("static", filename="x.css")
        (static / "x.css").write_text("a{color:red}")
        os.utime(static / "x.css", (1, 1))
        after = url_for("static", filename="x.css")
    assert before != after
