"""Shared pages: members get pages rendered once per generation, with only their own parts.

Each viewer's page, from the shared rendering, must be the page a fully uncached render
gives that same viewer (same session cookie, same database): byte for byte, apart from
two signatures of the moment of rendering (see normalised()).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import text

from blogapp import cache, create_app, guest_token
from blogapp.cache import shared
from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, Role, Subscription, User, utcnow
from tests import helpers
from tests.builders import make_category, make_comment, make_post, make_user
from tests.servers import REDIS_URL, redis_or_missing

TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")([^"]+)(")')
STAMP = re.compile(r'(name="stamp"[^>]*value=")([^"]+)(")')


def normalised(page: str) -> str:
    """The page with its signed CSRF tokens read back, and the form's time stamp dropped.

    A CSRF token is the session's secret signed with the second it was made, so two
    renders a second apart differ even for one session: each token is replaced by the
    secret it carries (so a token for the wrong session would still differ); a guest
    token, by the time window it names. The comment
    form's stamp is only a signed time; it is dropped. Nothing else is touched.
    """
    signer = URLSafeTimedSerializer(helpers.SECRET, salt="wtf-csrf-token")
    guests = URLSafeSerializer(helpers.SECRET, salt=guest_token.SALT)

    def read(token: str) -> str:
        try:
            return "secret:" + signer.loads(token)
        except BadSignature:  # the guests' shared token: the time window it names
            return f"guest window:{guests.loads(token)}"

    page = TOKEN.sub(lambda m: m.group(1) + read(m.group(2)) + m.group(3), page)
    return STAMP.sub(lambda m: m.group(1) + "stamp" + m.group(3), page)


@pytest.fixture
def uncached_app(cached_app, database_url, tmp_path):
    """The same blog (same database, same secret) with no page cache: the reference."""
    app = create_app(helpers.test_config(database_url, upload_dir=tmp_path / "uploads"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def cookie_of(client) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())


@pytest.fixture
def blog(cached_app):
    """A post with a thread by two members and guests, and the people who read it."""
    app = cached_app
    with app.app_context():
        advice = make_category("Advice")
        writer = make_user(username="writer", role=Role.AUTHOR, display_name="Wren Writer")
        ana = make_user(username="ana", display_name="Ana Member")
        ben = make_user(username="ben", display_name="Ben Member")
        eve = make_user(username="eve", role=Role.EDITOR, display_name="Eve Editor")
        post = make_post(writer, title="Care at night", body="Night care.", category=advice)
        make_post(writer, title="Older care post", published_ago=timedelta(days=2))
        first = make_comment(post, "Guest thoughts on nights", guest_name="Gil")
        make_comment(post, "Ana's fresh reply", parent=first, user_id=ana.id, guest_name="")
        old = make_comment(post, "Ana's old comment", user_id=ana.id, guest_name="")
        old.created_at = utcnow() - timedelta(days=1)  # out of the 15-minute edit window
        make_comment(post, "Ben view here", user_id=ben.id, guest_name="")
        db.session.add(Subscription(post_id=post.id, user_id=ben.id))  # ben follows it
        db.session.commit()
        ids = {"ana": ana.id, "ben": ben.id, "eve": eve.id, "writer": writer.id}
        slug = post.slug
    viewers = {}
    for name in ("ana", "ben", "eve", "writer"):
        client = app.test_client()
        helpers.sign_in_fast(client, app, ids[name])
        helpers.csrf_token(client)  # a CSRF secret in the session, as any browser's has
        viewers[name] = cookie_of(client)
    guest = app.test_client()
    response = guest.post(
        f"/posts/{slug}/comments",
        data={
            "name": "Hana Guest",
            "email": "hana@example.org",
            "body": "Hana held words",
            "csrf_token": helpers.csrf_token(guest),
        },
    )
    assert response.status_code == 302
    viewers["guest with a held comment"] = cookie_of(guest)  # held ids, and a flash
    returning = app.test_client()
    helpers.csrf_token(returning)
    viewers["guest"] = cookie_of(returning)  # a session with nothing personal in it
    return {"slug": slug, "viewers": viewers, "ids": ids}


def pages(slug: str) -> list[str]:
    return [
        "/",
        f"/posts/{slug}",
        f"/posts/{slug}?order=newest",
        "/category/advice",
        "/author/writer",
        "/search?q=care",
        "/feed.xml",
    ]


def get(app, path: str, cookie: str):
    client = app.test_client(use_cookies=False)
    return client.get(path, headers={"Cookie": cookie} if cookie else {})


def test_every_viewer_sees_what_an_uncached_render_shows_them(cached_app, uncached_app, blog):
    for path in pages(blog["slug"]):
        for viewer, cookie in blog["viewers"].items():
            reference = get(uncached_app, path, cookie)
            for attempt in ("first", "again"):  # the shared page rendered, then reused
                answer = get(cached_app, path, cookie)
                assert answer.status_code == reference.status_code == 200
                assert normalised(answer.text) == normalised(reference.text), (
                    f"{viewer} on {path} ({attempt})"
                )


def test_each_viewer_sees_their_own_parts_and_nobody_elses(cached_app, blog):
    post = f"/posts/{blog['slug']}"
    seen = {
        viewer: get(cached_app, post, cookie).text for viewer, cookie in blog["viewers"].items()
    }
    # Names in the header, edit and delete links, the follow button: each person's own.
    assert '<span class="signed-in-as">Ana Member</span>' in seen["ana"]
    assert "Ana Member</span>" not in seen["ben"] and "Ben Member</span>" not in seen["ana"]
    assert seen["ana"].count(">Edit</a>") == 1  # her fresh reply; the old one's window closed
    assert seen["ana"].count(">Delete<") == 2  # both of hers
    assert seen["ben"].count(">Edit</a>") == seen["ben"].count(">Delete<") == 1  # his own
    assert "Stop following this discussion" in seen["ben"]
    assert "Stop following this discussion" not in seen["ana"]
    # The editor moderates: delete on every comment, and the staff bar.
    assert seen["eve"].count(">Delete<") == 4
    assert 'class="staff-nav"' in seen["eve"] and 'class="staff-nav"' not in seen["ana"]
    # The held comment and its flash: only for the guest who wrote it.
    assert "Hana held words" in seen["guest with a held comment"]
    assert "held for review" in seen["guest with a held comment"]
    for viewer in ("ana", "ben", "eve", "writer", "guest"):
        assert "Hana held words" not in seen[viewer]
        assert "held for review" not in seen[viewer]
    # Guests get the guest form; members don't.
    assert "Commenting as a guest" in seen["guest"]
    assert "Commenting as a guest" not in seen["ana"]


def sneak_title(app, slug: str, title: str) -> None:
    """Change a title behind the cache's back: only a shared page would still show the old."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE posts SET title = :t WHERE slug = :s"), {"t": title, "s": slug})


def test_members_share_one_rendering_until_a_change(cached_app, blog):
    path, ana, ben = f"/posts/{blog['slug']}", blog["viewers"]["ana"], blog["viewers"]["ben"]
    assert "Care at night" in get(cached_app, path, ana).text
    sneak_title(cached_app, blog["slug"], "Changed behind the cache")
    assert "Care at night" in get(cached_app, path, ben).text  # rendered once, for both
    with cached_app.app_context():  # a real change, through the session: at once
        post = db.session.scalar(db.select(Post).where(Post.slug == blog["slug"]))
        make_comment(post, "A brand new approved comment", guest_name="Ivo")
    page = get(cached_app, path, ben).text
    assert "Changed behind the cache" in page and "A brand new approved comment" in page


def test_signing_in_and_reading_do_not_invalidate_pages(cached_app, blog):
    """Session records are not content: a sign-in must not make everyone's pages cold."""
    path = f"/posts/{blog['slug']}"
    get(cached_app, path, blog["viewers"]["ana"])
    sneak_title(cached_app, blog["slug"], "Changed behind the cache")
    with cached_app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.username == "ben"))
    helpers.signed_in_session_id(cached_app, user_id)  # a new sign-in record
    assert "Care at night" in get(cached_app, path, blog["viewers"]["ana"]).text


@pytest.fixture
def probes(cached_app):
    """Two public test views that break the rules: one reads current_user, one the session."""
    from flask import flash, render_template_string, session

    def whoami():
        return render_template_string(
            "<p>{{ current_user.name if current_user.is_authenticated else 'nobody' }}</p>"
        )

    def note():
        return render_template_string("<p>{{ note }}</p>", note=session.get("note", "none"))

    def flashy():
        flash("Seen once, by whoever asked")
        return "<p>flashed</p>"

    for view in (whoami, note, flashy):
        rule, wrapped = f"/test-{view.__name__}", shared._shared_first(cache.public_page(view))
        cached_app.add_url_rule(rule, view.__name__, wrapped)
    return cached_app


def test_a_view_that_looks_at_the_viewer_is_never_shared(probes, blog):
    """A template reading current_user outside a part would put one person's name into
    everyone's page: such a page is rendered per viewer instead."""
    assert get(probes, "/test-whoami", blog["viewers"]["ana"]).text == "<p>Ana Member</p>"
    assert get(probes, "/test-whoami", blog["viewers"]["ben"]).text == "<p>Ben Member</p>"


def test_a_page_reading_the_session_is_rendered_for_those_who_have_that_key(probes, blog):
    client = probes.test_client()
    helpers.sign_in_fast(client, probes, blog["ids"]["ana"])
    assert client.get("/test-note").text == "<p>none</p>"
    with client.session_transaction() as sess:
        sess["note"] = "mine alone"
    assert client.get("/test-note").text == "<p>mine alone</p>"
    assert get(probes, "/test-note", blog["viewers"]["ben"]).text == "<p>none</p>"
    assert probes.test_client().get("/test-note").text == "<p>none</p>"


def test_a_view_that_writes_the_session_runs_for_its_viewer(probes, blog):
    client = probes.test_client()
    helpers.sign_in_fast(client, probes, blog["ids"]["ana"])
    assert client.get("/test-flashy").text == "<p>flashed</p>"
    assert "Seen once, by whoever asked" in client.get("/").text  # not lost in a shared render
    assert "Seen once" not in get(probes, "/", blog["viewers"]["ben"]).text


def test_comment_form_error_page_keeps_what_a_member_typed(cached_app, blog):
    client = cached_app.test_client(use_cookies=False)
    headers = {"Cookie": blog["viewers"]["ana"]}
    page = client.get(f"/posts/{blog['slug']}", headers=headers).text
    token = TOKEN.search(page).group(2)
    response = client.post(
        f"/posts/{blog['slug']}/comments",
        data={"body": "", "csrf_token": token, "parent_id": "abc<script>"},
        headers=headers,
    )
    assert response.status_code == 400
    assert "please check the fields" in response.text


@pytest.fixture
def two_servers(cached_app, database_url, tmp_path):
    """Two app instances (two server processes) sharing the database and a Redis prefix."""
    client = redis_or_missing()
    prefix = f"test:shared:{tmp_path.name}:"
    settings = {"PAGE_CACHE_ENABLED": True, "REDIS_URL": REDIS_URL, "PAGE_CACHE_KEY_PREFIX": prefix}
    apps = [
        create_app(helpers.test_config(database_url, upload_dir=tmp_path / f"up{n}", **settings))
        for n in range(2)
    ]
    yield apps
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_shared_pages_are_shared_and_invalidated_across_servers_through_redis(two_servers, blog):
    one, two = two_servers
    path, ana, ben = f"/posts/{blog['slug']}", blog["viewers"]["ana"], blog["viewers"]["ben"]
    assert "Care at night" in get(one, path, ana).text
    sneak_title(one, blog["slug"], "Changed behind the cache")
    page = get(two, path, ben).text  # the other server uses the rendering stored in Redis
    assert "Care at night" in page and "Ben Member" in page and "Ana Member</span>" not in page
    with one.app_context():
        comment = db.session.scalar(db.select(Comment).where(Comment.body_md == "Ben view here"))
        comment.status = CommentStatus.SPAM  # a moderator's decision on server one
        db.session.commit()
    page = get(two, path, ben).text
    assert "Changed behind the cache" in page and "Ben view here" not in page


def test_a_members_post_page_issues_few_statements_whatever_the_thread(cached_app, blog):
    """From the shared rendering: the viewer's session, follow state and (staff) the
    number waiting; never the thread, the post or the navigation."""
    from tests.test_query_counts import add_comments, statements_for

    client = cached_app.test_client(use_cookies=False)
    client.environ_base["HTTP_COOKIE"] = blog["viewers"]["eve"]  # delete on every comment
    path = f"/posts/{blog['slug']}"
    before = statements_for(cached_app, client, path)
    with cached_app.app_context():
        post_id = db.session.scalar(db.select(Post.id).where(Post.slug == blog["slug"]))
        add_comments(post_id, 300)
    after = statements_for(cached_app, client, path)
    assert len(after) == len(before), after
    queries = [s for s in after if s != "BEGIN"]
    assert len(queries) == 3 and not any("root_id" in s or "FROM posts" in s for s in queries)
    page = client.get(path).text
    assert "Comment 49" in page and page.count(">Delete<") > 50


def test_a_members_etag_follows_their_own_parts_and_the_content(cached_app, blog):
    path, ana = f"/posts/{blog['slug']}", blog["viewers"]["ana"]
    client = cached_app.test_client(use_cookies=False)
    first = client.get(path, headers={"Cookie": ana})
    asked = {"Cookie": ana, "If-None-Match": first.headers["ETag"]}
    assert client.get(path, headers=asked).status_code == 304
    assert get(cached_app, path, blog["viewers"]["ben"]).headers["ETag"] != first.headers["ETag"]
    with cached_app.app_context():  # only her follow button changes (no content change)
        post_id = db.session.scalar(db.select(Post.id).where(Post.slug == blog["slug"]))
        db.session.add(Subscription(post_id=post_id, user_id=blog["ids"]["ana"]))
        db.session.commit()
    followed = client.get(path, headers=asked)
    assert followed.status_code == 200 and "Stop following this discussion" in followed.text
    asked["If-None-Match"] = followed.headers["ETag"]
    with cached_app.app_context():  # a change for everyone
        make_comment(db.session.get(Post, post_id), "Newer words", guest_name="Ivo")
    assert client.get(path, headers=asked).status_code == 200
