"""Who may do what: every route × every role × every method, from one table; IDOR probes.

The table below says, for each (endpoint, method), which roles get past the permission
check. A route missing from it fails test_every_route_is_in_the_table, so a new route
can't slip in without its expectation being written down here.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from base64 import urlsafe_b64encode
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import select

from blogapp import create_app
from blogapp.auth import sessions as session_records
from blogapp.comments import services
from blogapp.extensions import db
from blogapp.models import (
    Comment,
    CommentStatus,
    MediaImage,
    Passkey,
    Post,
    PostKind,
    PostRevision,
    PostStatus,
    User,
)
from tests import helpers
from tests.builders import make_category, make_post, make_user

ROLES = (
    "anonymous", "unconfirmed", "member", "reviewer", "author", "other_author", "editor",
    "admin", "suspended",
)  # fmt: skip
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset(
    {"unconfirmed", "member", "reviewer", "author", "other_author", "editor", "admin"}
)
AUTHORS = frozenset({"author", "other_author", "editor", "admin"})
OWNER = frozenset({"author", "editor", "admin"})  # "author" owns the post under test
COMMENTER = frozenset({"member"})  # "member" wrote the comment under test
# Its writer, the post's author, and those who moderate everything.
COMMENT_DELETERS = frozenset({"member", "author", "editor", "admin"})
ADMIN = frozenset({"admin"})
# A clinical reviewer is a member an admin gave credentials: a designation, not a role.
REVIEWERS = frozenset({"reviewer"})
HISTORY_READERS = OWNER | REVIEWERS
# Links from emails and other token routes: anyone may open them; a made-up token gets a
# "not valid" page (404/400/410), never a sign-in wall, never a 500.
OPEN = "open"

EXPECTED: dict[tuple[str, str], frozenset | str] = {
    ("posts.index", "GET"): EVERYONE,
    ("posts.detail", "GET"): EVERYONE,
    ("posts.page", "GET"): EVERYONE,
    ("posts.category", "GET"): EVERYONE,
    ("posts.tag", "GET"): EVERYONE,
    ("posts.author", "GET"): EVERYONE,
    ("posts.archive", "GET"): EVERYONE,
    ("posts.upload", "GET"): EVERYONE,
    ("static", "GET"): EVERYONE,
    ("health.healthz", "GET"): EVERYONE,
    ("discovery.feed", "GET"): EVERYONE,
    ("discovery.category_feed", "GET"): EVERYONE,
    ("discovery.comments_feed", "GET"): EVERYONE,
    ("discovery.robots_txt", "GET"): EVERYONE,
    ("discovery.sitemap_xml", "GET"): EVERYONE,
    ("discovery.search", "GET"): EVERYONE,
    ("comments.permalink", "GET"): EVERYONE,
    ("comments.reply", "GET"): EVERYONE,
    # Guests comment too (a suspended member's session is over: they are a guest now).
    ("comments.create", "POST"): EVERYONE,
    ("comments.edit", "GET"): COMMENTER,
    ("comments.edit", "POST"): COMMENTER,
    ("comments.confirm_delete", "GET"): COMMENT_DELETERS,
    ("comments.delete", "POST"): COMMENT_DELETERS,
    ("comments.follow", "POST"): SIGNED_IN,
    ("comments.moderate_link", "GET"): OPEN,
    ("comments.moderate_link", "POST"): OPEN,
    ("comments.unsubscribe", "GET"): OPEN,
    ("comments.unsubscribe", "POST"): OPEN,
    ("auth.login", "GET"): OPEN,
    ("auth.login", "POST"): OPEN,
    ("auth.logout", "POST"): OPEN,
    ("auth.register", "GET"): OPEN,
    ("auth.register", "POST"): OPEN,
    ("auth.confirm", "GET"): OPEN,
    ("auth.confirm", "POST"): OPEN,
    ("auth.resend_confirmation", "GET"): SIGNED_IN,
    ("auth.resend_confirmation", "POST"): SIGNED_IN,
    ("auth.reset_request", "GET"): OPEN,
    ("auth.reset_request", "POST"): OPEN,
    ("auth.reset", "GET"): OPEN,
    ("auth.reset", "POST"): OPEN,
    ("account.profile", "GET"): SIGNED_IN,
    ("account.profile", "POST"): SIGNED_IN,
    ("account.password", "GET"): SIGNED_IN,
    ("account.password", "POST"): SIGNED_IN,
    ("account.email", "GET"): SIGNED_IN,
    ("account.email", "POST"): SIGNED_IN,
    ("account.export", "GET"): SIGNED_IN,
    ("account.delete", "GET"): SIGNED_IN,
    ("account.delete", "POST"): SIGNED_IN,
    ("posts.dashboard", "GET"): AUTHORS,
    ("posts.new", "GET"): AUTHORS,
    ("posts.new", "POST"): AUTHORS,
    ("posts.live_preview", "POST"): AUTHORS,
    ("posts.edit", "GET"): OWNER,
    ("posts.edit", "POST"): OWNER,
    ("posts.confirm_delete", "GET"): OWNER,
    ("posts.delete", "POST"): OWNER,
    ("posts.unpublish", "POST"): OWNER,
    ("posts.history", "GET"): HISTORY_READERS,
    ("posts.restore", "POST"): OWNER,
    ("posts.reviews", "GET"): REVIEWERS,
    ("posts.review_post", "GET"): REVIEWERS,
    ("posts.review_post", "POST"): REVIEWERS,
    # Authors moderate their own posts' comments in the queue; admins all.
    ("admin.comments", "GET"): AUTHORS,
    ("admin.comments", "POST"): AUTHORS,
    ("admin.moderation_words", "POST"): ADMIN,
    ("admin.users", "GET"): ADMIN,
    ("admin.change_role", "POST"): ADMIN,
    ("admin.suspend", "POST"): ADMIN,
    ("admin.reinstate", "POST"): ADMIN,
    ("admin.categories", "GET"): ADMIN,
    ("admin.add_category", "POST"): ADMIN,
    ("admin.rename_category", "POST"): ADMIN,
    ("admin.delete_category", "POST"): ADMIN,
    # Account security: each person's own sessions, two-factor and passkeys.
    ("account_security.sessions", "GET"): SIGNED_IN,
    ("account_security.end_session", "POST"): SIGNED_IN,
    ("account_security.end_other_sessions", "POST"): SIGNED_IN,
    ("account_security.end_from_email", "GET"): OPEN,
    ("account_security.end_from_email", "POST"): OPEN,
    ("account_security.security", "GET"): SIGNED_IN,
    ("account_security.totp_start", "POST"): SIGNED_IN,
    ("account_security.totp_enrol", "GET"): SIGNED_IN,
    ("account_security.totp_enrol", "POST"): SIGNED_IN,
    ("account_security.totp_disable", "POST"): SIGNED_IN,
    ("account_security.recovery_codes", "POST"): SIGNED_IN,
    ("account_security.passkey_register_options", "POST"): SIGNED_IN,
    ("account_security.passkey_add", "POST"): SIGNED_IN,
    ("account_security.passkey_remove", "POST"): SIGNED_IN,
    ("auth.two_factor", "GET"): OPEN,
    ("auth.two_factor", "POST"): OPEN,
    ("auth.passkey_signin_options", "POST"): OPEN,
    ("auth.passkey_signin", "POST"): OPEN,
    ("admin.category_review", "POST"): ADMIN,
    ("admin.overdue_note", "POST"): ADMIN,
    ("admin.set_reviewer", "POST"): ADMIN,
    ("admin.audit", "GET"): ADMIN,
    # The media library (issue 17): authors' own images; "author" owns the image under test.
    ("media.library", "GET"): AUTHORS,
    ("media.library", "POST"): AUTHORS,
    # Images stay their uploader's (and admins'): editors edit posts, not others' libraries.
    ("media.delete", "GET"): OWNER - {"editor"},
    ("media.delete", "POST"): OWNER - {"editor"},
    ("admin.settings", "GET"): ADMIN,
    ("admin.save_settings", "POST"): ADMIN,
    # The newsletter: anyone subscribes; its links never ask anyone to sign in.
    ("newsletter.subscribe", "GET"): EVERYONE,
    ("newsletter.subscribe", "POST"): EVERYONE,
    ("newsletter.confirm", "GET"): OPEN,
    ("newsletter.confirm", "POST"): OPEN,
    ("newsletter.unsubscribe", "GET"): OPEN,
    ("newsletter.unsubscribe", "POST"): OPEN,
    ("newsletter.account", "GET"): SIGNED_IN,
    ("newsletter.account", "POST"): SIGNED_IN,
    ("admin.subscribers", "GET"): ADMIN,
    ("admin.subscribers_csv", "GET"): ADMIN,
    ("admin.newsletter_test", "POST"): ADMIN,
    ("admin.newsletter_settings", "POST"): ADMIN,
    ("admin.mail", "GET"): ADMIN,
    ("admin.mail_retry", "POST"): ADMIN,
}


def app_routes() -> set[tuple[str, str]]:
    app = create_app(helpers.test_config("sqlite://"))
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_table():
    routes = app_routes()
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, f"routes with no permission expectation: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"


# --- The world every probe runs in -------------------------------------------------------


def add_comment(post: Post, user: User, body: str) -> Comment:
    """A member's comment, posted through the service the comment form uses."""
    comment, _ = services.add_comment(post, services.Draft(body=body), user, ip="")
    assert comment.status == CommentStatus.APPROVED  # a confirmed member is published at once
    return comment


def build_world(app) -> dict:
    """One of each role, a post by "author", a comment by "member", and what routes need."""
    with app.app_context():
        users = {
            "unconfirmed": make_user("unconfirmed", confirmed=False),
            "member": make_user("member"),
            "reviewer": make_user("reviewer", reviewer_credentials="RN, MSN"),
            "author": make_user("author", role="author"),
            "other_author": make_user("other_author", role="author"),
            "editor": make_user("editor", role="editor"),
            "admin": make_user("admin", role="admin"),
            "suspended": make_user("suspended", role="author"),
            "target": make_user("target"),
        }
        category = make_category("News")
        post = make_post(users["author"], title="Owned post", tags=["Care"], category=category)
        db.session.add(PostRevision(post=post, number=1, title=post.title, body_md=post.body_md))
        db.session.commit()
        others = make_post(users["other_author"], title="Other author's post")
        draft = make_post(users["author"], title="Owned draft", status=PostStatus.DRAFT)
        page = make_post(users["admin"], title="About", kind=PostKind.PAGE)
        # Each person's own second session and passkey: the routes that end or remove one
        # are probed with the prober's own (another person's gives 404: the IDOR tests).
        other_sessions, keys = {}, {}
        for name, user in users.items():
            other_sessions[name], _, _ = session_records.start(
                user, user_agent="other browser", address="", lifetime=timedelta(days=1)
            )
            credential_id = urlsafe_b64encode(name.encode()).decode().rstrip("=")
            keys[name] = Passkey(
                user_id=user.id, name="Phone", credential_id=credential_id, public_key="x"
            )
            db.session.add(keys[name])
        db.session.commit()
        comment = add_comment(post, users["member"], "A member's comment")
        on_others = add_comment(others, users["member"], "On the other author's post")
        by_other_member = add_comment(post, users["target"], "Somebody else's comment")
        image = MediaImage(owner=users["author"], name="0" * 32 + "_10.png", alt="An image")
        db.session.add(image)
        db.session.commit()
        ids = {name: user.id for name, user in users.items()}
        world = {
            "users": ids,
            "other_sessions": {name: record.id for name, record in other_sessions.items()},
            "passkeys": {name: key.id for name, key in keys.items()},
            "post": post.slug,
            "post_id": post.id,
            "others_post": others.slug,
            "draft": draft.slug,
            "page": page.slug,
            "category": category.slug,
            "category_id": category.id,
            "comment": comment.id,
            "comment_on_others": on_others.id,
            "comment_by_other_member": by_other_member.id,
            "image": image.id,
            "published": post.published_at,
        }
    upload_dir = Path(app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / "probe.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return world


def url_values(world: dict, rule, role: str = "anonymous") -> dict:
    """A value for each part of the rule, pointing at the objects under test."""
    by_name = {
        "slug": world["post"],
        "username": "author",
        "year": world["published"].year,
        "month": world["published"].month,
        "day": world["published"].day,
        "name": "probe.png",
        "filename": "css/site.css",
        "comment_id": world["comment"],
        "category_id": world["category_id"],
        "user_id": world["users"]["target"],
        "post_id": world["post_id"],
        "number": 1,
        "image_id": world["image"],
        "token": "not-a-real-token",
        "session_id": world["other_sessions"].get(role, 0),
        "passkey_id": world["passkeys"].get(role, 0),
    }
    values = {arg: by_name[arg] for arg in rule.arguments}
    if rule.endpoint == "posts.page":
        values["slug"] = world["page"]
    if rule.endpoint in ("posts.category", "discovery.category_feed"):
        values["slug"] = world["category"]
    if rule.endpoint == "posts.tag":
        values["slug"] = "care"
    return values


def signed_in_client(app, role: str, world: dict | None = None):
    """A client signed in as role: through the sign-in form, or (fast) with its session."""
    client = app.test_client()
    if role == "anonymous":
        return client
    if world is None:
        response = helpers.AuthActions(client).login(role)
        assert response.status_code == 302, f"{role} could not sign in"
    else:
        # The session Flask-Login writes at sign-in, minus the slow password check: the
        # matrix is about what a signed-in person may do.
        helpers.sign_in_fast(client, app, world["users"][role])
    if role == "suspended":
        # Suspended after signing in: the old session must stop working at once.
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == "suspended"))
            user.suspended = True
            db.session.commit()
    return client


def describe(response) -> str:
    """The page's title or where it redirects: enough to tell what happened."""
    if "Location" in response.headers:
        return "-> " + response.headers["Location"]
    if response.mimetype != "text/html":
        return response.mimetype
    match = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    return match.group(1).strip() if match else ""


def refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302, 303) and urlsplit(location).path == "/auth/login"


def probe(app, world, role, endpoint, method, before_sending=None):
    rules = app.url_map.iter_rules()
    rule = next(r for r in rules if r.endpoint == endpoint and method in r.methods)
    with app.test_request_context():
        url = url_for(endpoint, **url_values(world, rule, role))
    client = signed_in_client(app, role, world)
    if endpoint == "discovery.search":
        url += "?q=care"
    if before_sending is not None:
        before_sending()
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": helpers.csrf_token(client)})


# How a refusal looks: a signed-out visitor (a suspended member's session ends at once) is
# sent to sign in on a GET and gets 401 on a POST; a signed-in person gets 403.
SIGNED_OUT = frozenset({"anonymous", "suspended"})
# These send a signed-out visitor to sign in on a POST too (what they typed comes back).
SIGN_IN_ON_POST = frozenset({("auth.resend_confirmation", "POST"), ("comments.edit", "POST")})
# Sign-in records change on every request; nothing else may change when a request is refused.
NOT_COMPARED = frozenset({"user_sessions"})


def refusal_shape(response, role: str, endpoint: str, method: str) -> bool:
    if role not in SIGNED_OUT:
        return response.status_code == 403
    if method == "GET" or (endpoint, method) in SIGN_IN_ON_POST:
        location = response.headers.get("Location", "")
        split = urlsplit(location)
        return response.status_code == 302 and split.path == "/auth/login" and "next=" in location
    return response.status_code == 401


def stored_rows(path: Path) -> dict[str, list]:
    """Every row of every table but the sign-in records, read straight from the file."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in NOT_COMPARED]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}


CASES = [
    pytest.param(endpoint, method, role, id=f"{method} {endpoint} as {role}")
    for (endpoint, method) in sorted(EXPECTED)
    for role in ROLES
]


@pytest.fixture(scope="module")
def world_file(sqlite_template, tmp_path_factory):
    """The world built once into a SQLite file; each probe gets a fresh copy of it."""
    path = tmp_path_factory.mktemp("matrix") / "world.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(helpers.test_config(f"sqlite:///{path}", upload_dir=path.parent / "up"))
    world = build_world(app)
    with app.app_context():
        db.engine.dispose()
    return path, world


@pytest.mark.parametrize(("endpoint", "method", "role"), CASES)
def test_permission_matrix(world_file, tmp_path, endpoint, method, role):
    template, world = world_file
    path = tmp_path / "blog.sqlite3"
    shutil.copy(template, path)
    app = create_app(helpers.test_config(f"sqlite:///{path}", upload_dir=template.parent / "up"))
    expected = EXPECTED[(endpoint, method)]
    before: dict[str, list] = {}
    # The rows are read only where a refusal is expected: only then must nothing change.
    snapshot = (
        None if expected == OPEN or role in expected else lambda: before.update(stored_rows(path))
    )
    try:
        response = probe(app, world, role, endpoint, method, snapshot)
    finally:
        with app.app_context():
            db.engine.dispose()
    status = f"{response.status_code} {describe(response)}"
    assert response.status_code < 500, f"{method} {endpoint} as {role}: {status}"
    if expected == OPEN:
        assert response.status_code not in (401, 403) and not (
            response.status_code in (301, 302, 303)
            and urlsplit(response.headers.get("Location", "")).path == "/auth/login"
        ), f"{method} {endpoint} is open to all, but {role} got {status}"
    elif role in expected:
        assert not refused(response), f"{method} {endpoint}: {role} should be let in, got {status}"
    else:
        assert refused(response), f"{method} {endpoint}: {role} should be refused, got {status}"
        assert refusal_shape(response, role, endpoint, method), (
            f"{method} {endpoint}: {role} refused as {status}; expected "
            + ("sign in (GET) or 401 (POST)" if role in SIGNED_OUT else "403")
        )
        changed = [t for t, rows in stored_rows(path).items() if rows != before[t]]
        assert not changed, f"{method} {endpoint} refused {role} but changed {changed}"


# --- IDOR: another person's things, by id or by slug --------------------------------------


@pytest.fixture
def world(app):
    return build_world(app)


def as_role(app, role):
    return signed_in_client(app, role)


def post_with_token(client, world, url, data=None):
    return client.post(url, data={"csrf_token": helpers.csrf_token(client), **(data or {})})


def test_other_author_cannot_edit_delete_or_unpublish_a_post_by_slug(app, world):
    client = as_role(app, "other_author")
    slug = world["post"]
    full = {"kind": "post", "title": "Hijacked", "body": "pwned", "category": "", "publish": "1"}
    for url, data in (
        (f"/posts/{slug}/edit", full),
        (f"/posts/{slug}/delete", {}),
        (f"/posts/{slug}/unpublish", {}),
        (f"/posts/{world['draft']}/edit", full),
    ):
        response = post_with_token(client, world, url, data)
        assert refused(response), (url, response.status_code)
    assert refused(client.get(f"/posts/{world['draft']}/edit"))
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        assert post.title == "Owned post"
        assert post.status == PostStatus.PUBLISHED
        assert db.session.scalar(select(Post).where(Post.slug == world["draft"])) is not None
    assert "Owned post" in app.test_client().get(f"/posts/{slug}").text


def test_member_cannot_edit_or_delete_another_members_comment_by_id(app, world):
    client = as_role(app, "member")
    target = world["comment_by_other_member"]
    assert refused(post_with_token(client, world, f"/comments/{target}/edit", {"body": "mine now"}))
    assert refused(post_with_token(client, world, f"/comments/{target}/delete"))
    with app.app_context():
        comment = db.session.get(Comment, target)
        assert comment.body_md == "Somebody else's comment"
        assert comment.status == CommentStatus.APPROVED


def test_author_cannot_moderate_comments_on_another_authors_post(app, world):
    client = as_role(app, "author")
    target = world["comment_on_others"]
    assert refused(post_with_token(client, world, f"/comments/{target}/delete"))
    response = post_with_token(
        client, world, "/admin/comments", {"action": "delete", "ids": str(target)}
    )
    assert response.status_code in (302, 303, 400, 403)
    response = post_with_token(
        client, world, "/admin/comments", {"action": "spam", "ids": str(target)}
    )
    with app.app_context():
        assert db.session.get(Comment, target).status == CommentStatus.APPROVED
    page = app.test_client().get(f"/posts/{world['others_post']}").text
    assert "On the other author&#39;s post" in page or "On the other author's post" in page


def test_reply_cannot_be_attached_to_a_comment_on_another_post(app, world):
    client = as_role(app, "member")
    response = post_with_token(
        client,
        world,
        f"/posts/{world['others_post']}/comments",
        {"body": "Cross-thread reply", "parent_id": str(world["comment"])},
    )
    assert response.status_code < 500
    with app.app_context():
        stray = db.session.scalar(select(Comment).where(Comment.body_md == "Cross-thread reply"))
        assert stray is None or stray.parent_id != world["comment"]


def test_non_admin_cannot_promote_themselves(app, world):
    for role in ("member", "author"):
        client = as_role(app, role)
        own_id = world["users"][role]
        response = post_with_token(client, world, f"/admin/users/{own_id}/role", {"role": "admin"})
        assert refused(response)
    with app.app_context():
        assert db.session.get(User, world["users"]["member"]).role == "member"
        assert db.session.get(User, world["users"]["author"]).role == "author"
