"""Page cache for anonymous readers: served from the cache, never stale, never personal."""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from datetime import timedelta

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy import text
from wtforms import StringField
from wtforms.validators import DataRequired

from blogapp import cache, create_app
from blogapp.comments import services as comment_services
from blogapp.comments.moderation import Action
from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, PostKind, PostStatus, Setting, User
from tests import helpers
from tests.builders import make_category, make_comment, make_post, make_user
from tests.servers import REDIS_URL, redis_or_missing

IN_CI = os.environ.get("CI", "").lower() == "true"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def without_tokens(response) -> str:
    """A page's text with its CSRF tokens left out (each is signed afresh every second)."""
    return TOKEN.sub("", response.text)


def enable_cache(app, tmp_path, **settings) -> None:
    """Turn the page cache on for this test's app (the test config has it off)."""
    app.config.update(
        PAGE_CACHE_ENABLED=True,
        PAGE_CACHE_GENERATION_FILE=str(tmp_path / "page-cache-generation"),
        **settings,
    )
    app.extensions["page_cache"] = cache.PageCache(app)


@pytest.fixture
def cached(app, tmp_path):
    enable_cache(app, tmp_path)
    return app


def sneak_title(app, post_id: int, title: str) -> None:
    """Change a title behind the cache's back (no ORM session): only a cache would hide it."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE posts SET title = :t WHERE id = :i"), {"t": title, "i": post_id})


def test_second_anonymous_visit_is_served_from_the_cache(cached, client):
    with cached.app_context():
        post = make_post(title="Handwashing that sticks")
        post_id = post.id
    first = client.get("/")
    sneak_title(cached, post_id, "Changed behind the cache")
    second = client.get("/")
    assert "Handwashing that sticks" in first.text
    assert "Handwashing that sticks" in second.text
    assert second.headers["X-Page-Cache"] == "hit"
    assert first.headers["X-Page-Cache"] == "miss"


def test_cache_off_means_fresh_pages(app, client):
    with app.app_context():
        post_id = make_post(title="Handwashing that sticks").id
    client.get("/")
    sneak_title(app, post_id, "Night shift sleep tips")
    assert "Night shift sleep tips" in client.get("/").text


def test_new_post_shows_on_the_next_request(cached, client):
    with cached.app_context():
        author = make_user(role="author")
        make_post(author, title="First words")
    assert "First words" in client.get("/").text
    with cached.app_context():
        make_post(db.session.merge(author), title="Second thoughts")
    page = client.get("/")
    assert "Second thoughts" in page.text
    assert page.headers["X-Page-Cache"] == "miss"


def test_edited_post_shows_on_the_next_request(cached, client):
    with cached.app_context():
        post = make_post(title="Before the edit", body="Old body text.")
        slug = post.slug
    assert "Old body text." in client.get(f"/posts/{slug}").text
    assert "Before the edit" in client.get("/").text
    with cached.app_context():
        post = db.session.get(Post, post.id)
        post.title = "After the edit"
        post.body_md = "New body text."
        from blogapp.posts.services import render_content

        render_content(post)
        db.session.commit()
    assert "New body text." in client.get(f"/posts/{slug}").text
    assert "After the edit" in client.get("/").text


def add_comment(post_id: int, status: str, body: str = "Thank you for this.") -> int:
    post = db.session.get(Post, post_id)
    guest = {"guest_name": "Dana", "guest_email": "dana@example.org"}
    return make_comment(post, body, status, **guest).id


def test_approved_and_deleted_comments_show_on_the_next_request(cached, client):
    with cached.app_context():
        post = make_post(title="Comment me")
        post_id = post.id
        comment_id = add_comment(post_id, CommentStatus.PENDING)
    assert "0 comments" in client.get("/").text
    with cached.app_context():
        comment_services.moderate([db.session.get(Comment, comment_id)], Action.APPROVE)
    assert "1 comment" in client.get("/").text
    with cached.app_context():
        comment_services.moderate([db.session.get(Comment, comment_id)], Action.DELETE)
    assert "0 comments" in client.get("/").text


def test_bulk_update_through_the_session_invalidates(cached, client):
    with cached.app_context():
        post_id = make_post(title="Bulk before").id
    assert "Bulk before" in client.get("/").text
    with cached.app_context():
        from sqlalchemy import update

        db.session.execute(update(Post).where(Post.id == post_id).values(title="Bulk after"))
        db.session.commit()
    assert "Bulk after" in client.get("/").text


def test_settings_change_invalidates(cached, client):
    with cached.app_context():
        make_post()
    client.get("/")
    assert client.get("/").headers["X-Page-Cache"] == "hit"
    with cached.app_context():
        db.session.add(Setting(key="moderation_words", value="spam"))
        db.session.commit()
    assert client.get("/").headers["X-Page-Cache"] == "miss"


def test_author_display_name_change_shows_but_a_new_signup_keeps_the_cache(cached, client):
    with cached.app_context():
        author = make_user(role="author", display_name="Nurse Ratched")
        make_post(author)
        author_id = author.id
    assert "Nurse Ratched" in client.get("/").text
    with cached.app_context():
        make_user()  # a new member shows nowhere: no reason to drop the cache
    assert client.get("/").headers["X-Page-Cache"] == "hit"
    with cached.app_context():
        db.session.get(User, author_id).display_name = "Nurse Joy"
        db.session.commit()
    assert "Nurse Joy" in client.get("/").text


def test_rolled_back_change_keeps_the_cache(cached, client):
    with cached.app_context():
        post_id = make_post(title="Stays put").id
    client.get("/")
    with cached.app_context():
        db.session.get(Post, post_id).title = "Never saved"
        db.session.flush()
        db.session.rollback()
        db.session.commit()
    assert client.get("/").headers["X-Page-Cache"] == "hit"


def test_scheduled_post_appears_when_its_time_comes(cached, client):
    with cached.app_context():
        make_post(title="Already out")
        make_post(
            title="Coming soon", status=PostStatus.SCHEDULED, published_ago=-timedelta(seconds=1.5)
        )
    assert "Coming soon" not in client.get("/").text
    assert "Coming soon" not in client.get("/").text
    time.sleep(1.6)
    assert "Coming soon" in client.get("/").text


def test_workers_without_redis_see_each_others_changes(cached, database_url, tmp_path):
    """Two gunicorn workers (here two apps) keep pages in memory but share the generation."""
    other = create_app(
        helpers.test_config(
            database_url,
            upload_dir=tmp_path / "up",
            PAGE_CACHE_ENABLED=True,
            PAGE_CACHE_GENERATION_FILE=cached.config["PAGE_CACHE_GENERATION_FILE"],
        )
    )
    try:
        with cached.app_context():
            post_id = make_post(title="Worker one wrote this").id
        reader = other.test_client()
        reader.get("/")
        assert reader.get("/").headers["X-Page-Cache"] == "hit"
        with cached.app_context():  # the other worker edits
            db.session.get(Post, post_id).title = "Worker one edited this"
            db.session.commit()
        assert "Worker one edited this" in reader.get("/").text
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# -- nothing personal ------------------------------------------------------------------


def test_signed_in_reader_gets_fresh_pages_and_their_name_is_never_cached(cached, app, auth):
    # Members' pages come from shared renderings (tests/test_shared_pages.py): a change
    # shows on their next request, and their name is added for them alone.
    with cached.app_context():
        make_user(username="marisol", display_name="Marisol Ortega")
        post_id = make_post(title="Shared page").id
    auth.login("marisol")
    mine = auth.client.get("/")
    assert "Marisol Ortega" in mine.text
    assert "X-Page-Cache" not in mine.headers
    assert "private" in mine.headers["Cache-Control"]
    with cached.app_context():
        db.session.get(Post, post_id).title = "Fresh for members"
        db.session.commit()
    assert "Fresh for members" in auth.client.get("/").text
    stranger = cached.test_client()
    assert "Marisol Ortega" not in stranger.get("/").text
    assert "Marisol Ortega" not in stranger.get("/").text


def test_flash_message_is_neither_served_from_nor_stored_in_the_cache(cached, auth):
    with cached.app_context():
        make_user(username="marisol")
        make_post()
    other = cached.test_client()
    other.get("/")  # the home page is now cached
    auth.login("marisol")
    auth.logout()
    mine = auth.client.get("/")
    assert "You are signed out." in mine.text
    assert "You are signed out." not in other.get("/").text
    assert "You are signed out." not in cached.test_client().get("/").text


@pytest.mark.parametrize("key", ["held_comments", "_flashes", "_user_id", "anything_new"])
def test_session_with_anything_personal_bypasses_the_cache(cached, client, key):
    with cached.app_context():
        post_id = make_post(title="Before").id
    cached.test_client().get("/")  # cached for everyone else
    sneak_title(cached, post_id, "Rendered just for this visitor")
    with client.session_transaction() as sess:
        sess[key] = {"_flashes": [("message", "Held.")], "_user_id": "999:1"}.get(key, [1])
    page = client.get("/")
    assert "X-Page-Cache" not in page.headers
    assert "Rendered just for this visitor" in page.text


def test_other_cookies_bypass_the_cache(cached, client):
    with cached.app_context():
        post_id = make_post(title="Cookie jar").id
    client.get("/")
    sneak_title(cached, post_id, "Seen with a cookie")
    client.set_cookie("remember_token", "1|abc")
    page = client.get("/")
    assert "Seen with a cookie" in page.text
    assert "X-Page-Cache" not in page.headers


def test_not_found_and_own_cookie_responses_are_not_stored(cached, client):
    @cached.get("/test-sets-cookie")
    @cache.public_page
    def sets_cookie():
        response = cached.make_response("<p>Counter page</p>")
        response.set_cookie("visits", "1")
        return response

    assert client.get("/posts/nothing-here").status_code == 404
    assert client.get("/posts/nothing-here").headers.get("X-Page-Cache") is None
    client.get("/test-sets-cookie")
    again = cached.test_client().get("/test-sets-cookie")
    assert again.headers["X-Page-Cache"] == "miss"
    assert "visits=1" in again.headers["Set-Cookie"]


def test_page_that_contains_the_placeholder_text_is_never_stored(cached, client):
    with cached.app_context():
        slug = make_post(body="Try this: " + cache.CSRF_PLACEHOLDER.decode()).slug
    client.get(f"/posts/{slug}")
    assert client.get(f"/posts/{slug}").headers["X-Page-Cache"] == "miss"


# -- CSRF on cached pages --------------------------------------------------------------


class NoteForm(FlaskForm):
    note = StringField("Note", validators=[DataRequired()])


@cache.public_page
def note_view():
    """A page with a CSRF-protected form (like the comment form), and where it posts."""
    form = NoteForm()
    if form.validate_on_submit():
        return f"<p>Noted: {form.note.data}</p>"
    page = '<form method="post">{{ form.csrf_token }}{{ form.note.label }}{{ form.note }}'
    page += '<button type="submit">Save note</button></form>'
    return render_template_string(page, form=form), 400 if form.is_submitted() else 200


@pytest.fixture
def form_app(cached):
    cached.add_url_rule("/test-note", "note", note_view, methods=["GET", "POST"])
    return cached


def test_each_visitor_gets_their_own_token_from_a_cached_page(form_app):
    first, second, third = (form_app.test_client() for _ in range(3))
    one = first.get("/test-note")
    two = second.get("/test-note")
    three = third.get("/test-note")
    assert one.headers["X-Page-Cache"] == "miss"
    assert two.headers["X-Page-Cache"] == "hit"
    tokens = {TOKEN.search(r.text).group(1) for r in (one, two, three)}
    assert len(tokens) == 3
    assert cache.CSRF_PLACEHOLDER.decode() not in two.text
    for client, page in ((second, two), (third, three)):
        token = TOKEN.search(page.text).group(1)
        done = client.post("/test-note", data={"csrf_token": token, "note": "hello"})
        assert done.status_code == 200
        assert "Noted: hello" in done.text


def test_a_token_from_someone_elses_session_is_refused(form_app):
    first, second = form_app.test_client(), form_app.test_client()
    first_token = TOKEN.search(first.get("/test-note").text).group(1)
    second.get("/test-note")
    refused = second.post("/test-note", data={"csrf_token": first_token, "note": "hi"})
    assert refused.status_code == 400


def test_guest_can_comment_from_a_cached_post_page(cached, client):
    with cached.app_context():
        post = make_post(title="Talk to us")
        slug = post.slug
    cached.test_client().get(f"/posts/{slug}")  # someone else's visit fills the cache
    page = client.get(f"/posts/{slug}")
    assert page.headers["X-Page-Cache"] == "hit"
    token = TOKEN.search(page.text).group(1)
    stamp = re.search(r'name="stamp"[^>]*value="([^"]*)"', page.text)
    data = {
        "csrf_token": token,
        "name": "Dana",
        "email": "dana@example.org",
        "body": "Thank you, this helped on my last shift.",
    }
    if stamp:
        data["stamp"] = stamp.group(1)
    time.sleep(0.1)
    posted = client.post(
        f"/posts/{slug}/comments", data=data, headers=helpers.FROM_THIS_SITE, follow_redirects=True
    )
    assert posted.status_code == 200
    assert "Thank you, this helped on my last shift." in posted.text or "moderat" in posted.text
    with cached.app_context():
        assert db.session.query(Comment).count() == 1


# -- several processes sharing Redis ---------------------------------------------------


@pytest.fixture
def redis_prefix():
    client = redis_or_missing()
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture
def two_servers(app, database_url, redis_prefix, tmp_path):
    """Two app instances (as two server processes would be) sharing the database and Redis."""
    shared = {
        "PAGE_CACHE_ENABLED": True,
        "REDIS_URL": REDIS_URL,
        "PAGE_CACHE_KEY_PREFIX": redis_prefix,
    }
    app.config.update(shared)
    app.extensions["page_cache"] = cache.PageCache(app)
    other = create_app(helpers.test_config(database_url, upload_dir=tmp_path / "up", **shared))
    yield app, other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_redis_cache_is_shared_and_invalidated_across_servers(two_servers):
    writer, reader = two_servers
    with writer.app_context():
        post = make_post(title="Shared cache post")
        post_id, slug = post.id, post.slug
    web_a, web_b = writer.test_client(), reader.test_client()
    assert web_a.get("/").headers["X-Page-Cache"] == "miss"
    hit = web_b.get("/")  # filled by the other server
    assert hit.headers["X-Page-Cache"] == "hit"
    assert "Shared cache post" in hit.text

    with writer.app_context():  # a new post written by server A...
        make_post(title="Written on server A")
    assert "Written on server A" in web_b.get("/").text  # ...is on server B's next answer

    with writer.app_context():  # an edit
        db.session.get(Post, post_id).title = "Edited on server A"
        db.session.commit()
    assert "Edited on server A" in web_b.get(f"/posts/{slug}").text

    with writer.app_context():  # an approved comment
        comment_id = add_comment(post_id, CommentStatus.PENDING)
    web_b.get("/")
    with writer.app_context():
        comment_services.moderate([db.session.get(Comment, comment_id)], Action.APPROVE)
    assert "1 comment" in web_b.get("/").text

    assert web_b.get("/").headers["X-Page-Cache"] == "hit"
    with writer.app_context():  # a setting
        db.session.add(Setting(key="moderation_words", value="casino"))
        db.session.commit()
    assert web_b.get("/").headers["X-Page-Cache"] == "miss"


def test_redis_cached_form_works_for_a_visitor_of_the_other_server(two_servers):
    writer, reader = two_servers
    for app in (writer, reader):
        app.add_url_rule("/test-note", "note", note_view, methods=["GET", "POST"])
    first = writer.test_client().get("/test-note")
    visitor = reader.test_client()
    page = visitor.get("/test-note")
    assert page.headers["X-Page-Cache"] == "hit"
    token = TOKEN.search(page.text).group(1)
    assert token != TOKEN.search(first.text).group(1)
    done = visitor.post("/test-note", data={"csrf_token": token, "note": "shared"})
    assert "Noted: shared" in done.text


def test_cookieless_hits_are_answered_before_flask_runs(cached, tmp_path):
    cached.wsgi_app = cache.FastHits(cached, cached.extensions["page_cache"], cached.wsgi_app)
    with cached.app_context():
        make_post(title="Fast path post")
    client = cached.test_client(use_cookies=False)
    first = client.get("/")
    assert first.headers["X-Page-Cache"] == "miss"
    client.get("/feed.xml")  # no form on it: the same bytes for everyone, so 304s too
    flask_saw: list[str] = []
    cached.before_request_funcs[None].insert(0, lambda: flask_saw.append("request"))

    second = client.get("/")
    assert second.headers["X-Page-Cache"] == "hit"
    # The same page but for each visitor's own CSRF token (the subscribe box has a form).
    assert without_tokens(second) == without_tokens(first) and "Fast path post" in second.text
    assert flask_saw == []  # answered by the WSGI layer
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert second.headers[name] == first.headers[name]
    assert "Cookie" in second.headers["Vary"]
    feed = client.get("/feed.xml")
    assert feed.headers["X-Page-Cache"] == "hit"
    assert (
        client.get("/feed.xml", headers={"If-None-Match": feed.headers["ETag"]}).status_code == 304
    )
    since = {"If-Modified-Since": feed.headers["Last-Modified"]}
    assert client.get("/feed.xml", headers=since).status_code == 304
    assert client.get("/feed.xml", headers={"If-None-Match": '"other"'}).status_code == 200
    head = client.head("/")
    assert head.headers["X-Page-Cache"] == "hit" and head.data == b""
    assert int(second.headers["Content-Length"]) == len(second.data)

    client.get("/", headers={"Cookie": "theme=dark"})  # any cookie: through Flask
    assert flask_saw == ["request"]
    with cached.app_context():
        make_post(title="Brand new post")
    assert "Brand new post" in client.get("/").text


def test_the_fast_path_gives_each_cookieless_visitor_a_working_form_token(form_app, client):
    """A public page whose form needs a session's token (the comment form has the guest
    token instead, see test_guest_token.py): the fast path starts each visitor's session."""
    cached = form_app
    cached.wsgi_app = cache.FastHits(cached, cached.extensions["page_cache"], cached.wsgi_app)
    cached.test_client().get("/test-note")  # someone else's visit fills the cache
    flask_saw: list[str] = []
    cached.before_request_funcs[None].insert(0, lambda: flask_saw.append("request"))
    first, second = (cached.test_client().get("/test-note") for _ in "ab")
    assert flask_saw == []  # both answered by the WSGI layer
    assert first.headers["X-Page-Cache"] == second.headers["X-Page-Cache"] == "hit"
    tokens = [TOKEN.search(page.text).group(1) for page in (first, second)]
    assert tokens[0] != tokens[1]  # each visitor got their own token
    assert cache.CSRF_PLACEHOLDER.decode() not in first.text
    assert first.headers["ETag"] != second.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    # The token is a real one: the form posts with it, through Flask-WTF's checks.
    page = client.get("/test-note")
    assert page.headers["X-Page-Cache"] == "hit" and flask_saw == []
    token = TOKEN.search(page.text).group(1)
    posted = client.post("/test-note", data={"csrf_token": token, "note": "hello"})
    assert posted.status_code == 200 and "Noted: hello" in posted.text
    # ...and only with the session it came with: another visitor can't use it.
    thief = cached.test_client()
    thief.get("/test-note")
    stolen = thief.post("/test-note", data={"csrf_token": token, "note": "hello"})
    assert stolen.status_code == 400


def test_create_app_installs_the_fast_path_only_with_the_cache_on(tmp_path):
    url = f"sqlite:///{tmp_path}/unused.db"
    on = create_app(helpers.test_config(url, PAGE_CACHE_ENABLED=True, UPLOAD_DIR=str(tmp_path)))
    off = create_app(helpers.test_config(url, UPLOAD_DIR=str(tmp_path)))
    assert isinstance(on.wsgi_app, cache.FastHits)
    assert not isinstance(off.wsgi_app, cache.FastHits)


# -- fail closed, and one answer on every path -----------------------------------------

# Every view marked @public_page, with an address of it among the data made below.
PUBLIC_PAGES = {
    "posts.index": "/",
    "posts.detail": "/posts/{post}",
    "posts.page": "/pages/{page}",
    "posts.category": "/category/{category}",
    "posts.tag": "/tag/{tag}",
    "posts.author": "/author/{author}",
    "posts.archive": "/archive/{year}/{month}",
    "discovery.feed": "/feed.xml",
    "discovery.category_feed": "/category/{category}/feed.xml",
    "discovery.comments_feed": "/posts/{post}/comments/feed.xml",
    "discovery.sitemap_xml": "/sitemap.xml",
    "discovery.robots_txt": "/robots.txt",
    "discovery.search": "/search?q=handwashing",
    "comments.reply": "/comments/{comment}/reply",
    "newsletter.subscribe": "/subscribe",
}
PER_ANSWER = {"date", "x-page-cache"}  # the clock, and which path answered


def test_only_views_marked_public_are_cached(cached):
    with cached.app_context():
        public = {endpoint for endpoint in cached.view_functions if cache.is_public(endpoint)}
    assert public == set(PUBLIC_PAGES)

    @cached.get("/test-unmarked")
    def unmarked():
        return "<p>The same for everyone, but nobody said it may be shared</p>"

    visitor = cached.test_client()
    for _ in range(2):
        page = visitor.get("/test-unmarked")
        assert page.status_code == 200 and "X-Page-Cache" not in page.headers


def header_list(response, mask=()) -> list[tuple[str, str]]:
    """A response's headers but the visitor's own cookie, sorted; masked ones only say so."""
    found = []
    for name, value in response.headers:
        name = name.lower()
        if name not in PER_ANSWER and name != "set-cookie":
            found.append((name, "(made per visitor)" if name in mask else value))
    return sorted(found)


def cookie_attributes(response) -> str | None:
    cookie = response.headers.get("Set-Cookie")
    return cookie.split(";", 1)[1] if cookie else None


def public_addresses() -> dict[str, str]:
    """Data for every public page; each one's address."""
    author = make_user(role="author", username="hana")
    category = make_category("Advice")
    post = make_post(author, title="Handwashing that sticks", tags=["hygiene"], category=category)
    page = make_post(author, title="About us", kind=PostKind.PAGE)
    comment = make_comment(post, "Thank you, this helped.")
    names = {
        "post": post.slug,
        "page": page.slug,
        "category": category.slug,
        "tag": "hygiene",
        "author": author.username,
        "year": post.published_at.year,
        "month": post.published_at.month,
        "comment": comment.id,
    }
    return {endpoint: url.format(**names) for endpoint, url in PUBLIC_PAGES.items()}


def test_a_cached_answer_carries_exactly_the_headers_of_the_uncached_one(cached):
    """Every public page: the miss, a hit through Flask and a hit before Flask agree.

    Only what is made for each visitor may differ: the ETag of a page with a form (it holds
    the visitor's CSRF secret) and the fast path's new session cookie, which must look
    exactly like the one Flask itself would set.
    """
    cached.wsgi_app = cache.FastHits(cached, cached.extensions["page_cache"], cached.wsgi_app)
    with cached.app_context():
        addresses = public_addresses()
    with_session = cached.test_client()
    with with_session.session_transaction() as session:
        session["csrf_token"] = secrets.token_hex(20)  # a session with nothing personal in it
        session["_fresh"] = False  # as Flask-Login writes it on a session's first request
    for endpoint, url in addresses.items():
        first_visit = cached.test_client().get(url)  # no cookies: Flask starts a session
        cache.bump_generation(cached)
        miss = with_session.get(url)
        flask_hit = with_session.get(url)
        fast_hit = cached.test_client().get(url)
        assert miss.status_code == flask_hit.status_code == fast_hit.status_code == 200, url
        assert miss.headers["X-Page-Cache"] == "miss", url
        assert flask_hit.headers["X-Page-Cache"] == fast_hit.headers["X-Page-Cache"] == "hit"
        assert without_tokens(flask_hit) == without_tokens(miss), url
        assert header_list(flask_hit) == header_list(miss), endpoint
        per_visitor = {"etag"} if cookie_attributes(fast_hit) else set()
        assert header_list(fast_hit, per_visitor) == header_list(miss, per_visitor), endpoint
        assert cookie_attributes(fast_hit) == cookie_attributes(first_visit), endpoint
        if not per_visitor:  # the same bytes for everyone: both paths answer 304 alike
            asked = {"If-None-Match": miss.headers["ETag"]}
            through_flask = with_session.get(url, headers=asked)
            before_flask = cached.test_client().get(url, headers=asked)
            assert through_flask.status_code == before_flask.status_code == 304, url
            assert header_list(through_flask) == header_list(before_flask), endpoint
        if endpoint == "discovery.search":  # results stay out of indexes, cached or not
            assert fast_hit.headers["X-Robots-Tag"] == "noindex"
