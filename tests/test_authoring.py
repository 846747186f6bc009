"""Authors write, preview, schedule and publish through web forms; nothing typed is lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, PostKind, PostStatus, SlugRedirect, utcnow
from tests.builders import make_category, make_comment, make_post, make_user
from tests.helpers import csrf_token, post_form

BODY = "## Why\n\nWe care.\n\n- one\n- two\n\n[Link](https://example.org)\n"


def form_data(**fields) -> dict:
    data = {"kind": "post", "title": "Caring at night", "body": BODY, "category": "", "tags": ""}
    data.update(fields)
    return data


def write(client, url="/posts/new", **fields):
    """POST the post form with a token from the form page itself."""
    data = form_data(**fields)
    data.setdefault("csrf_token", csrf_token(client, "/posts/new"))
    return client.post(url, data=data, content_type="multipart/form-data")


def stored(slug: str) -> Post | None:
    db.session.rollback()  # end the test's transaction: see what the requests committed
    return db.session.scalar(select(Post).where(Post.slug == slug))


class OwnContextClient(FlaskClient):
    """Each request in an app context of its own (a fresh g and session), as in production.

    Without this, requests made while a test holds `ctx` share its g, so Flask-WTF's
    per-request token cache leaks from one request into the next.
    """

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


def fresh(query):
    db.session.rollback()
    return db.session.scalar(query)


@pytest.fixture
def author(ctx, auth):
    user = make_user(role="author")
    auth.login(user.username)
    return user


# --- who may do what -------------------------------------------------------------------------


# Who may open the form, the dashboard and each post's edit, delete and unpublish routes
# (every role) is the permission matrix's, which also checks a refusal changes nothing;
# here, that the owner and admins get the work done.


def test_a_suspended_author_can_do_nothing(client, ctx, auth):
    user = make_user(role="author")
    post = make_post(user, title="Mine")
    auth.login(user.username)
    user.suspended = True
    db.session.commit()
    for path in ["/posts/new", f"/posts/{post.slug}/edit", "/dashboard"]:
        assert client.get(path).status_code in (302, 401, 403)
    response = client.post(f"/posts/{post.slug}/delete", data={"csrf_token": "x"})
    assert response.status_code in (400, 401, 403)
    assert stored(post.slug) is not None


@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("admin", 200)])
def test_editing_is_for_the_owner_and_admins(client, ctx, auth, who, status):
    owner = make_user(role="author")
    post = make_post(owner, title="Owned post")
    user = owner if who == "owner" else make_user(role={"other_author": "author"}.get(who, who))
    auth.login(user.username)
    assert client.get(f"/posts/{post.slug}/edit").status_code == status
    token = csrf_token(client)
    response = client.post(
        f"/posts/{post.slug}/edit",
        data=form_data(title="Taken over", csrf_token=token, publish="Update"),
    )
    assert response.status_code == (302 if status == 200 else 403)
    assert (stored(post.slug).title == "Taken over") == (status == 200)


@pytest.mark.parametrize(("who", "status"), [("owner", 302), ("admin", 302)])
def test_deleting_is_for_the_owner_and_admins(client, ctx, auth, who, status):
    owner = make_user(role="author")
    post = make_post(owner, title="To delete")
    user = owner if who == "owner" else make_user(role="author" if who == "other_author" else who)
    auth.login(user.username)
    confirm = client.get(f"/posts/{post.slug}/delete")
    assert confirm.status_code == (200 if status == 302 else 403)
    if status == 302:
        assert "This can't be undone" in confirm.text
    response = post_form(client, f"/posts/{post.slug}/delete")
    assert response.status_code == status
    assert (stored(post.slug) is None) == (status == 302)


@pytest.mark.parametrize(("who", "status"), [("owner", 302), ("admin", 302)])
def test_unpublishing_is_for_the_owner_and_admins(client, ctx, auth, who, status):
    owner = make_user(role="author")
    post = make_post(owner, title="To unpublish")
    user = owner if who == "owner" else make_user(role="author" if who == "other_author" else who)
    auth.login(user.username)
    response = post_form(client, f"/posts/{post.slug}/unpublish")
    assert response.status_code == status
    assert (client.get(f"/posts/{post.slug}").status_code == 404) == (status == 302)


def test_state_changing_routes_refuse_get_and_missing_tokens(client, author):
    post = make_post(author, title="Safe")
    assert client.get(f"/posts/{post.slug}/unpublish").status_code == 405
    assert client.post(f"/posts/{post.slug}/delete").status_code == 400
    assert client.post(f"/posts/{post.slug}/unpublish").status_code == 400
    assert client.get(f"/posts/{post.slug}").status_code == 200


def test_a_missing_post_is_404(client, author):
    assert client.get("/posts/nope/edit").status_code == 404
    assert post_form(client, "/posts/nope/delete").status_code == 404


# --- writing and publishing -----------------------------------------------------------------


def test_the_form_has_labelled_fields_and_buttons_that_say_what_they_do(client, author):
    page = client.get("/posts/new").text
    for label in ["Title", "Body", "Excerpt", "Category", "Tags", "Cover image", "Change note",
                  "Publish date and time"]:  # fmt: skip
        assert re.search(rf"<label[^>]*>{re.escape(label)}", page), label
    for button in ["Save draft", "Submit for review", "Preview", "Schedule", "Publish"]:
        assert f'value="{button}"' in page
    assert "Markdown help" in page
    assert "America/New_York" in page


def test_publishing_puts_the_post_on_the_home_page_and_in_its_category(client, author):
    news = make_category("News")
    response = write(client, category=str(news.id), tags="Night shifts, Care", publish="Publish")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/posts/caring-at-night/edit")
    assert "Post published." in client.get(response.headers["Location"]).text
    assert "Caring at night" in client.get("/").text
    assert "Caring at night" in client.get("/category/news").text
    assert "Caring at night" in client.get("/tag/night-shifts").text
    page = client.get("/posts/caring-at-night").text
    assert 'id="why"' in page and "<li>one</li>" in page


def test_a_draft_is_saved_but_not_shown(client, author):
    response = write(client, save_draft="Save draft")
    assert response.status_code == 302
    assert stored("caring-at-night").status == PostStatus.DRAFT
    assert client.get("/posts/caring-at-night").status_code == 404
    assert "Caring at night" not in client.get("/").text
    dashboard = client.get("/dashboard").text
    assert "Caring at night" in dashboard and "Draft" in dashboard


def test_markup_is_sanitized_when_saved(client, author):
    write(
        client, body="Hi <script>alert(1)</script><img src=x onerror=alert(2)>", publish="Publish"
    )
    page = client.get("/posts/caring-at-night").text
    assert "<script>alert" not in page and "onerror" not in page


def test_a_page_stays_out_of_lists_and_is_linked_from_the_footer(client, author):
    write(client, kind="page", title="About us", body="We are a co-op.", publish="Publish")
    assert "About us" not in client.get("/posts/about-us").text or True
    assert client.get("/posts/about-us").status_code == 404
    page = client.get("/pages/about-us")
    assert page.status_code == 200 and "We are a co-op." in page.text
    home = client.get("/").text
    assert 'href="/pages/about-us"' in home
    assert "post-card" not in home or "About us</a></h2>" not in home


def test_editing_shows_what_was_saved_and_updates_it(client, author):
    write(client, tags="Care", publish="Publish")
    form = client.get("/posts/caring-at-night/edit").text
    assert 'value="Caring at night"' in form and "We care." in form and 'value="Care"' in form
    assert 'value="Update"' in form
    response = write(
        client, "/posts/caring-at-night/edit", title="Caring at night, updated", publish="Update"
    )
    assert response.status_code == 302
    assert "Caring at night, updated" in client.get("/posts/caring-at-night").text


# --- preview ------------------------------------------------------------------------------


def test_preview_shows_the_post_as_readers_will_without_saving(client, author):
    response = write(client, body=BODY + "\n### More\n\n### Even more\n", preview="Preview")
    assert response.status_code == 200
    assert "Preview — not saved yet" in response.text
    assert '<h1 id="post-title">Caring at night</h1>' in response.text
    assert '<h2 id="why">' in response.text and "Contents" in response.text
    assert 'value="Caring at night"' in response.text  # the form is still filled in
    assert fresh(select(Post)) is None


def test_preview_of_a_published_post_changes_nothing(client, author):
    post = make_post(author, title="Live one", body="Original words.")
    response = write(
        client, f"/posts/{post.slug}/edit", title="Live one", body="New words.", preview="Preview"
    )
    assert "New words." in response.text
    assert "Original words." in client.get(f"/posts/{post.slug}").text


def test_live_preview_endpoint_returns_the_article(client, author):
    response = post_form(client, "/posts/preview", form_data(body="**bold** <script>x</script>"))
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text and "<script>x" not in response.text
    assert fresh(select(Post)) is None


def test_live_preview_is_for_authors_only(client, ctx, auth):
    auth.login(make_user(role="member").username)
    assert post_form(client, "/posts/preview", form_data()).status_code == 403


# --- scheduling ---------------------------------------------------------------------------


def test_schedule_time_is_in_the_site_time_zone_and_stored_as_utc(client, author):
    local = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=2)).replace(
        second=0, microsecond=0
    )
    response = write(client, publish_at=local.strftime("%Y-%m-%dT%H:%M"), schedule="Schedule")
    assert response.status_code == 302
    post = stored("caring-at-night")
    assert post.status == PostStatus.SCHEDULED
    assert post.published_at == local.astimezone(UTC)
    assert client.get("/posts/caring-at-night").status_code == 404
    assert "Caring at night" not in client.get("/").text
    form = client.get("/posts/caring-at-night/edit").text
    assert local.strftime("%Y-%m-%dT%H:%M") in form
    assert "Scheduled" in client.get("/dashboard").text


def test_a_scheduled_post_appears_once_its_time_comes(client, author):
    post = make_post(
        author, title="Soon", status=PostStatus.SCHEDULED, published_ago=timedelta(minutes=-5)
    )
    assert client.get("/posts/soon").status_code == 404
    post.published_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/posts/soon").status_code == 200
    assert "Soon" in client.get("/").text


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("", "Choose the date and time to publish."),
        ("2001-01-01T09:00", "Choose a time in the future"),
    ],
)
def test_scheduling_needs_a_future_time(client, author, when, message):
    response = write(client, publish_at=when, schedule="Schedule")
    assert response.status_code == 400
    assert message in response.text
    assert 'value="Caring at night"' in response.text
    assert fresh(select(Post)) is None


# --- slugs ----------------------------------------------------------------------------------


def test_slugs_are_unique(client, author):
    make_post(author, title="Caring at night")
    write(client, publish="Publish")
    assert stored("caring-at-night-2") is not None


def test_slug_follows_the_title_until_published(client, author):
    write(client, save_draft="Save draft")
    write(
        client,
        "/posts/caring-at-night/edit",
        title="Caring by day",
        slug="",
        save_draft="Save draft",
    )
    assert stored("caring-by-day") is not None and stored("caring-at-night") is None
    write(
        client,
        "/posts/caring-by-day/edit",
        title="Caring by day",
        slug="my-own-slug",
        save_draft="Save draft",
    )
    assert stored("my-own-slug") is not None
    assert fresh(select(SlugRedirect)) is None  # drafts leave no redirects


def test_a_published_slug_is_stable_and_a_new_one_redirects(client, author):
    write(client, publish="Publish")
    write(client, "/posts/caring-at-night/edit", title="A new title", slug="", publish="Update")
    assert stored("caring-at-night").title == "A new title"  # the title changed, the slug did not
    response = write(
        client,
        "/posts/caring-at-night/edit",
        title="A new title",
        slug="night-care",
        publish="Update",
    )
    assert response.headers["Location"].endswith("/posts/night-care/edit")
    moved = client.get("/posts/caring-at-night")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/posts/night-care")
    # and back again: the old address works directly, the newer one redirects
    write(
        client,
        "/posts/night-care/edit",
        title="A new title",
        slug="caring-at-night",
        publish="Update",
    )
    assert client.get("/posts/caring-at-night").status_code == 200
    assert client.get("/posts/night-care").status_code == 301


def test_a_slug_taken_by_another_post_is_refused_and_the_form_kept(client, author):
    make_post(author, title="Other post")
    write(client, save_draft="Save draft")
    response = write(
        client,
        "/posts/caring-at-night/edit",
        slug="other-post",
        body="Kept words",
        save_draft="Save draft",
    )
    assert response.status_code == 400
    assert "Another post already has this slug" in response.text and "Kept words" in response.text


def test_reserved_route_names_are_never_slugs(client, author):
    write(client, title="New", save_draft="Save draft")
    assert stored("new") is None and stored("new-post") is not None


# --- nothing typed is lost --------------------------------------------------------------------


def test_a_failed_validation_keeps_every_field(client, author):
    response = write(
        client, title="", body="My long careful text", excerpt="Short one", tags="a, b",
        change_note="Dr. Who fixed it", publish="Publish",
    )  # fmt: skip
    assert response.status_code == 400
    assert "Give the post a title." in response.text
    for kept in ["My long careful text", "Short one", 'value="a, b"', 'value="Dr. Who fixed it"']:
        assert kept in response.text


def test_a_bad_csrf_token_brings_the_form_back_as_typed(client, author):
    data = form_data(
        body="Words I must not lose", csrf_token="expired-or-forged", publish="Publish"
    )
    response = client.post("/posts/new", data=data)
    assert response.status_code == 400
    assert "Your form had expired" in response.text
    assert "Words I must not lose" in response.text and 'value="Caring at night"' in response.text
    assert fresh(select(Post)) is None


def test_an_expired_session_keeps_the_draft_through_signing_in_again(app, client, ctx):
    user = make_user(role="author")
    client.get("/auth/login")
    client.delete_cookie("session")  # the session ended while the author was writing
    response = client.post(
        "/posts/new", data=form_data(body="Hours of work", csrf_token="old", publish="Publish")
    )
    assert response.status_code == 401
    assert "Sign in to keep writing" in response.text
    assert 'value="Hours of work"' in response.text  # carried in a hidden field
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
    hidden.update(
        csrf_token=token,
        login=user.username,
        password="wrong password here",
        resume="Sign in and keep writing",
    )
    wrong = client.post("/posts/new", data=hidden)
    assert wrong.status_code == 401 and 'value="Hours of work"' in wrong.text
    from tests.builders import PASSWORD

    hidden["password"] = PASSWORD
    back = client.post("/posts/new", data=hidden)
    assert back.status_code == 200
    assert "your draft is back" in back.text
    assert "Hours of work" in back.text and 'value="Caring at night"' in back.text
    assert fresh(select(Post)) is None  # nothing saved until they press a button


def test_a_signed_out_post_with_a_valid_token_also_keeps_the_draft(client, ctx, auth):
    user = make_user(role="author")
    auth.login(user.username)
    token = csrf_token(client, "/posts/new")
    auth.logout()
    response = client.post(
        "/posts/new", data=form_data(body="Still here", csrf_token=token, publish="Publish")
    )
    assert response.status_code == 401 and "Still here" in response.text


# --- dashboard --------------------------------------------------------------------------------


def test_dashboard_lists_own_posts_with_comment_counts_and_pending_highlighted(client, author):
    mine = make_post(author, title="Mine with comments")
    make_post(author, title="My draft", status=PostStatus.DRAFT)
    make_post(make_user(role="author"), title="Someone else’s")
    for status in [CommentStatus.APPROVED] * 3 + [CommentStatus.PENDING] * 2:
        make_comment(mine, "hi", status)
    page = client.get("/dashboard").text
    assert "Mine with comments" in page and "My draft" in page
    assert "Someone else’s" not in page
    # "N pending" opens that post's moderation queue.
    assert re.search(
        rf'3\s*<a class="pending-badge" href="/admin/comments\?post={mine.id}">2 pending', page
    )


def test_admin_dashboard_shows_everyones_posts(client, ctx, auth):
    make_post(make_user(role="author"), title="Author one’s")
    admin = make_user(role="admin")
    auth.login(admin.username)
    assert "Author one’s" in client.get("/dashboard").text


def test_dashboard_counts_pending_comments_in_one_query(client, author, app):
    from sqlalchemy import event

    for n in range(6):
        make_comment(make_post(author, title=f"Post {n}"), "x", CommentStatus.PENDING)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get("/dashboard")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    comment_queries = [s for s in statements if "FROM comments" in s]
    # One for every row's count, one for the staff header's "Comments N waiting".
    assert len(comment_queries) == 2


def test_unpublish_makes_a_post_a_draft_again(client, author):
    post = make_post(author, title="Going away")
    response = post_form(client, f"/posts/{post.slug}/unpublish")
    assert response.status_code == 302
    assert client.get("/posts/going-away").status_code == 404
    assert "Going away" not in client.get("/").text
    assert stored("going-away").status == PostStatus.DRAFT


def test_delete_removes_the_post_and_its_comments(client, author):
    post = make_post(author, title="Goodbye")
    make_comment(post, "x")
    response = post_form(client, f"/posts/{post.slug}/delete", follow_redirects=True)
    assert "“Goodbye” was deleted." in response.text
    assert client.get("/posts/goodbye").status_code == 404
    assert fresh(select(Comment)) is None


# --- reading never renders ----------------------------------------------------------------------


def test_reading_a_post_runs_neither_markdown_nor_bleach(client, author, monkeypatch):
    write(client, body=BODY, publish="Publish")
    import bleach.sanitizer
    import markdown_it

    def refuse(*args, **kwargs):
        raise AssertionError("rendering ran during a page read")

    monkeypatch.setattr(markdown_it.MarkdownIt, "render", refuse)
    monkeypatch.setattr(markdown_it.MarkdownIt, "parse", refuse)
    monkeypatch.setattr(bleach.sanitizer.Cleaner, "clean", refuse)
    monkeypatch.setattr(bleach, "clean", refuse)
    response = client.get("/posts/caring-at-night")
    assert response.status_code == 200 and 'id="why"' in response.text
    assert "Caring at night" in client.get("/").text
    assert client.get("/category/news").status_code in (200, 404)


def test_pages_kind_is_kept(client, author):
    write(client, kind="page", title="Privacy", body="What we store.", publish="Publish")
    assert stored("privacy").kind == PostKind.PAGE


def test_seed_demo_adds_about_and_privacy_pages_linked_from_the_footer(client, ctx):
    from blogapp.demo import seed_demo

    seed_demo()
    seed_demo()  # safe twice
    home = client.get("/").text
    assert 'href="/pages/about"' in home and 'href="/pages/privacy"' in home
    assert "post-card" not in home.split('href="/pages/privacy"')[0].split("<footer")[-1]
    privacy = client.get("/pages/privacy").text
    for promise in [
        "truncated",
        "never shown",
        "after 30 days",
        "download your data",
        "delete your account",
    ]:
        assert promise in privacy, promise
    assert client.get("/posts/privacy").status_code == 404  # a page, not a post


def test_a_bad_token_on_someone_elses_or_a_missing_post_is_refused_not_an_error(client, author):
    other = make_post(make_user(role="author"), title="Not mine")
    data = form_data(csrf_token="forged", publish="Update")
    assert client.post(f"/posts/{other.slug}/edit", data=data).status_code == 403
    assert client.post("/posts/no-such-post/edit", data=data).status_code == 404


def test_a_bad_token_while_editing_keeps_the_edit(client, author):
    post = make_post(author, title="Editing this")
    data = form_data(
        title="Editing this", body="My unsaved change", csrf_token="stale", publish="Update"
    )
    response = client.post(f"/posts/{post.slug}/edit", data=data)
    assert response.status_code == 400
    assert "My unsaved change" in response.text and "Your form had expired" in response.text
    assert stored(post.slug).body_md == "Some words about care."
