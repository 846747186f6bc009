"""No input reaches a 500: every route x method x the parameters its view reads, fuzzed.

The routes come from ``app.url_map``; the parameters each view reads are found by asking:
each route is requested once per role with a request whose query and form dictionaries
record every name looked up (``request.args``/``request.form``, including WTForms'
fields), plus the names the code reads literally (a scan of blogapp/ for
``.args.get("...")``/``.form.get("...")``). Hypothesis then sends each route odd values for
those names and its path segments (Unicode digits, huge and negative numbers, floats,
empty, NUL, overlong, bad UTF-8) as anonymous, member and admin, and every answer must be
below 500.

The app here has CSRF checks off (``app_without_csrf``) so requests reach the code past
the form token; CSRF itself is tested in test_auth.py and test_permissions_matrix.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update
from werkzeug.datastructures import ImmutableMultiDict

from blogapp import create_app
from blogapp.auth import services as auth_services
from blogapp.comments import notifications
from blogapp.extensions import db
from blogapp.models import (
    Category,
    Comment,
    CommentStatus,
    MediaImage,
    Post,
    PostKind,
    PostStatus,
    Role,
    User,
    UserSession,
    utcnow,
)
from tests import helpers
from tests.builders import (
    PASSWORD,
    PASSWORD_HASH,
    make_category,
    make_comment,
    make_post,
    make_user,
)
from tests.conftest import BACKENDS
from tests.servers import own_postgres_database

ROOT = Path(__file__).parent.parent
ROLES = ("anonymous", "member", "admin")
# Statements that change nothing (a world that only saw these needs no restore).
READS = re.compile(r"\s*(SELECT|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|SHOW|SET )", re.I)
# Examples per route, x 3 roles x ~150 routes and methods x 2 databases: a few minutes in
# all (FUZZ_EXAMPLES=200 to dig deeper).
EXAMPLES_PER_ROUTE = int(os.environ.get("FUZZ_EXAMPLES", "10"))

# Values that broke pages before (issue 15) and their relatives.
ODD = [
    "",
    "0",
    "-1",
    "1.5",
    "1e3",
    " 1",
    "1 ",
    "²",
    "①",
    "١٢",
    "𝟗",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999999",
    "user:²",
    "user:9223372036854775808",
    "email:",
    "http://[::1",
    "//evil.example",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "9999-12-31",
    "\x00",
    "a\r\nBcc: x@example.org",
    "<script>alert(1)</script>",
    "‮",
    "x" * 5000,
    "9" * 400,
]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"1\xff", b"%"]
# Plausible values, so requests also get past the first check into the code behind it.
PLAUSIBLE = [
    "1",
    "2",
    "y",
    "on",
    "approve",
    "spam",
    "delete",
    "pending",
    "approved",
    "admin",
    "author",
    "member",
    "newest",
    "care",
    "ana@example.org",
    "https://example.org/",
    "2030-01-01T10:00",
    "2024-05-01",
    "post",
    "page",
    PASSWORD,
    "A perfectly ordinary sentence about night shifts.",
]

_read: set[str] = set()


class RecordingMultiDict(ImmutableMultiDict):
    """request.args / request.form that remember which names the code looked up."""

    def __contains__(self, key):
        _read.add(key)
        return super().__contains__(key)

    def __getitem__(self, key):
        _read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict's own signature
        _read.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _read.add(key)
        return super().getlist(key, type)


def literal_parameter_names() -> set[str]:
    """Names the code reads literally: .args.get("x"), .form.getlist("x"), args["x"]..."""
    pattern = re.compile(r"""\b(?:args|form|values)(?:\.get(?:list)?\(|\[)\s*["']([\w-]+)["']""")
    names: set[str] = set()
    for path in (ROOT / "blogapp").rglob("*.py"):
        names.update(pattern.findall(path.read_text()))
    return names


# -- the world the fuzzer works in -------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def app_without_csrf(request, tmp_path_factory):
    # A database of the module's own: the world is put back only after a request of its
    # own wrote (World.restore), so no other module's clean-up may empty it meanwhile.
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("fuzz") / "blog.sqlite3"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(own_postgres_database("blogfuzz"))
        app = create_app(
            helpers.test_config(
                url,
                upload_dir=tmp_path_factory.mktemp("uploads"),
                WTF_CSRF_ENABLED=False,
            )
        )
        app.request_class = type(
            "RecordingRequest",
            (app.request_class,),
            {"parameter_storage_class": RecordingMultiDict},
        )
        yield app
        helpers.empty_tables(app)


class World:
    """Fixed people and content, put back before each request (the fuzzer deletes things)."""

    def __init__(self, app):
        self.app = app
        self.clients = {}
        # Put back only what a request may have changed: any statement that writes marks
        # the world dirty (most fuzzed requests are refused or only read, and a restore
        # with its checks costs more than the request).
        self.dirty, self._values = True, None
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._saw_statement)
            self.people = {
                "member": make_user("fuzz_member"),
                "admin": make_user("fuzz_admin", role=Role.ADMIN),
                "admin2": make_user("fuzz_admin2", role=Role.ADMIN),
                "author": make_user("fuzz_author", role=Role.AUTHOR),
            }
            self.people = {k: (u.id, u.username, u.session_version) for k, u in self.people.items()}
        self.restore()
        for role in ROLES:
            self.sign_in(role)

    def sign_in(self, role: str) -> None:
        client = self.app.test_client()
        if role != "anonymous":
            response = client.post(
                "/auth/login", data={"login": f"fuzz_{role}", "password": PASSWORD}
            )
            assert response.status_code == 302, response.text
        self.clients[role] = (client, client.get_cookie("session"))

    def revive_sessions(self) -> None:
        """Sign-ins the fuzzer ended (sign out, end other sessions) live again, or are redone."""
        ids = {role: self.people[role][0] for role in ("member", "admin")}
        with self.app.app_context():
            db.session.execute(
                update(UserSession)
                .where(UserSession.user_id.in_(ids.values()))
                .values(ended_at=None, expires_at=utcnow() + timedelta(days=1))
            )
            alive = set(
                db.session.scalars(
                    select(UserSession.user_id).where(UserSession.user_id.in_(ids.values()))
                )
            )
            db.session.commit()
        for role, user_id in ids.items():
            if self.clients and user_id not in alive:
                self.sign_in(role)

    def _saw_statement(self, conn, cursor, statement, parameters, context, executemany):
        if not READS.match(statement):
            self.dirty = True

    def restore(self) -> None:
        if not self.dirty:
            return
        self._values = None
        self._restore()
        self.dirty = False

    def _restore(self) -> None:
        with self.app.app_context():
            for key, (user_id, username, version) in self.people.items():
                user = db.session.get(User, user_id)
                role = {"admin": Role.ADMIN, "admin2": Role.ADMIN, "author": Role.AUTHOR}
                if user is None:
                    user = make_user(username, role=role.get(key, Role.MEMBER), id=user_id)
                user.role = role.get(key, Role.MEMBER)
                user.suspended = False
                # The member is a clinical reviewer too: the review routes get fuzzed past 403.
                user.reviewer_credentials = "RN" if key == "member" else ""
                user.session_version = version
                user.username, user.username_key = username, username
                user.email = user.email_key = f"{username}@example.org"
                user.password_hash = PASSWORD_HASH
            db.session.commit()
        self.revive_sessions()
        with self.app.app_context():
            author = db.session.get(User, self.people["author"][0])
            names = set(db.session.scalars(select(Category.name)))
            for name in ("Care", "News") if not {"Care", "News"} <= names else ():
                if name not in names:
                    make_category(name).needs_review = name == "Care"
            titles = set(db.session.scalars(select(Post.title)))
            if "Shift notes" not in titles:
                care = db.session.scalar(select(Category).where(Category.name == "Care"))
                post = make_post(author, "Shift notes", tags=["care", "nights"], category=care)
                first = make_comment(post, "First!")
                make_comment(post, "A reply", parent=first, user_id=self.people["member"][0])
                make_comment(post, "Held one", status=CommentStatus.PENDING)
            if "Draft thoughts" not in titles:
                make_post(author, "Draft thoughts", status=PostStatus.DRAFT)
            if "About us" not in titles:
                make_post(author, "About us", kind=PostKind.PAGE)
            if "Imported" not in titles:
                make_post(author, "Imported", wp_id=42)

    def values(self) -> dict[str, list[str]]:
        """Real values for each path argument name, read after the last restore."""
        if self.dirty or self._values is None:
            self._values = self._read_values()
        return self._values

    def _read_values(self) -> dict[str, list[str]]:
        with self.app.app_context():
            comments = db.session.scalars(select(Comment)).all()
            users = db.session.scalars(select(User)).all()
            posts = db.session.scalars(select(Post)).all()
            admin = db.session.get(User, self.people["admin"][0])
            tokens = [auth_services.confirmation_token(u) for u in users[:2]]
            tokens += [auth_services.reset_token(u) for u in users[:2]]
            tokens += [notifications.unsubscribe_token(users[0], "comments")]
            tokens += [notifications.moderation_token(c, "approve", admin) for c in comments[:2]]
            return {
                "user_id": [str(u.id) for u in users],
                "comment_id": [str(c.id) for c in comments],
                "image_id": [str(i) for i in db.session.scalars(select(MediaImage.id))] or ["1"],
                "category_id": [str(i) for i in db.session.scalars(select(Category.id))],
                "post_id": [str(p.id) for p in posts] + ["999999"],
                "number": ["1", "2"],
                "slug": [p.slug for p in posts] + ["care", "nights"],
                "username": [u.username for u in users],
                "token": tokens or ["x"],
                "name": ["missing.png"],
                "filename": ["css/site.css"],
                "year": ["2024", "2026"],
                "month": ["1", "12"],
                "day": ["1"],
            }


@pytest.fixture(scope="module")
def world(app_without_csrf):
    return World(app_without_csrf)


def routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method))
    return sorted(found)


def _rule(app, endpoint: str):
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def _encode(pairs: list[tuple[str, str | bytes]]) -> bytes:
    out = []
    for name, value in pairs:
        raw = value if isinstance(value, bytes) else value.encode()
        out.append(f"{quote(name)}={quote_from_bytes(raw, safe='')}")
    return "&".join(out).encode()


def _path(rule, segments: dict[str, str | bytes]) -> str:
    def fill(match):
        value = segments[match.group(1)]
        raw = value if isinstance(value, bytes) else value.encode()
        return quote_from_bytes(raw, safe="/" if match.group(0).startswith("<path") else "")

    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", fill, rule.rule)


ODD_VALUES = st.one_of(
    st.sampled_from(ODD),
    st.sampled_from(BAD_BYTES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True).map(str),
    st.text(max_size=12),
)


def param_values(real: list[str] | None = None):
    real_values = st.sampled_from(real) if real else st.nothing()
    return st.one_of(st.sampled_from(PLAUSIBLE), real_values, ODD_VALUES)


# -- which names each route reads -------------------------------------------------------


@pytest.fixture(scope="module")
def parameters(app_without_csrf, world) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """For each route and method: the names its view looked up as any of the roles, and
    the other names the code reads somewhere (tried now and then too)."""
    app, literal = app_without_csrf, literal_parameter_names()
    values = world.values()
    found = {}
    for endpoint, method in routes(app):
        rule, names = _rule(app, endpoint), set()
        path = _path(rule, {arg: values.get(arg, ["1"])[0] for arg in rule.arguments})
        for role in ROLES:
            world.restore()
            client = _client(world, role)
            _read.clear()
            # A form with something in it: Flask-WTF reads no fields from an empty one.
            client.open(path, method=method, data={"_": "1"} if method == "POST" else None)
            names |= _read
        found[endpoint, method] = names, (literal | {"page", "next"}) - names
    return found


def _client(world: World, role: str):
    client, cookie = world.clients[role]
    client._cookies.clear()
    if cookie is not None:
        client.set_cookie("session", cookie.value)
    return client


def test_the_recorder_sees_what_views_read(parameters):
    """The discovery step works: it finds the names known to be read."""
    assert {"post", "commenter", "status", "page"} <= parameters["admin.comments", "GET"][0]
    assert {"body", "parent_id", "name", "website"} <= parameters["comments.create", "POST"][0]
    assert {"publish_at", "category", "change_note"} <= parameters["posts.new", "POST"][0]
    assert {"p", "page_id"} <= parameters["posts.index", "GET"][0]
    assert "ids" in parameters["admin.comments", "POST"][1]  # read only past other checks


@pytest.mark.parametrize("endpoint, method", routes(create_app(helpers.test_config("sqlite://"))))
def test_no_request_gets_a_server_error(app_without_csrf, world, parameters, endpoint, method):
    app = app_without_csrf
    rule = _rule(app, endpoint)
    own, others = (sorted(names) for names in parameters[endpoint, method])

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data):
        world.restore()
        real = world.values()
        role = data.draw(st.sampled_from(ROLES), label="role")
        segments = {
            arg: data.draw(param_values(real.get(arg)), label=arg) for arg in rule.arguments
        }
        chosen = data.draw(
            st.lists(st.sampled_from(own), unique=True) if own else st.just([]), label="names"
        ) + data.draw(st.lists(st.sampled_from(others), max_size=2, unique=True), label="more")
        pairs = [(name, data.draw(param_values(real.get(name)), label=name)) for name in chosen]
        path = _path(rule, segments)
        in_query = method == "GET" or data.draw(st.booleans(), label="in query")
        client = _client(world, role)
        if in_query:
            response = client.open(path, method=method, query_string=_encode(pairs).decode())
        else:
            response = client.open(
                path,
                method=method,
                data=_encode(pairs),
                content_type="application/x-www-form-urlencoded",
            )
        assert response.status_code < 500, (
            f"{method} {path} as {role} with {pairs!r}: {response.status_code}"
        )

    check()


# -- the request shapes reported from the field (issue 15), each on its own -----------------

HUGE, PG_HUGE = "9223372036854775808", "2147483648"
REPORTED = [
    ("anonymous", "GET", f"/comments/{HUGE}", None),
    ("anonymous", "GET", f"/comments/{PG_HUGE}", None),
    ("anonymous", "GET", "/comments/١", None),
    ("anonymous", "GET", f"/comments/{HUGE}/reply", None),
    ("member", "GET", f"/comments/{HUGE}/edit", None),
    ("member", "POST", f"/comments/{HUGE}/delete", {}),
    ("anonymous", "GET", "/?p=²", None),
    ("anonymous", "GET", "/?page_id=①", None),
    ("anonymous", "GET", f"/?p={HUGE}", None),
    ("anonymous", "GET", "/?page=²", None),
    ("anonymous", "GET", "/posts/shift-notes?cpage=١", None),
    ("anonymous", "GET", "/auth/login?next=http://[::1", None),
    ("anonymous", "GET", "/1/1/1/shift-notes/", None),
    ("anonymous", "POST", "/posts/shift-notes/comments", {"website": "http://[::1"}),
    ("anonymous", "POST", "/posts/shift-notes/comments", {"parent_id": "²"}),
    ("anonymous", "POST", "/posts/shift-notes/comments", {"parent_id": HUGE}),
    ("admin", "POST", "/admin/comments", {"action": "approve", "ids": "²"}),
    ("admin", "POST", "/admin/comments", {"action": "approve", "ids": HUGE}),
    ("admin", "GET", "/admin/comments?commenter=user:²", None),
    ("admin", "GET", f"/admin/comments?commenter=user:{HUGE}", None),
    ("admin", "GET", f"/admin/comments?post={HUGE}", None),
    ("admin", "POST", f"/admin/users/{HUGE}/role", {"role": "admin"}),
    ("admin", "POST", f"/admin/users/{PG_HUGE}/suspend", {}),
    ("admin", "POST", f"/admin/users/{HUGE}/reinstate", {}),
    ("admin", "POST", f"/admin/categories/{HUGE}/rename", {"name": "X"}),
    ("admin", "POST", f"/admin/categories/{PG_HUGE}/delete", {}),
    ("admin", "GET", "/admin/users?page=²", None),
    ("admin", "GET", "/dashboard?page=١", None),
]
SCHEDULE = {"title": "Later", "body": "Soon.", "schedule": "1", "category": ""}


@pytest.mark.parametrize("role, method, path, form", REPORTED)
def test_reported_request_shapes_get_no_server_error(world, role, method, path, form):
    world.restore()
    comment = {"name": "Ana", "email": "ana@example.org", "body": "Hello there"}
    form = {**comment, **form} if path.endswith("/comments") else form
    response = _client(world, role).open(path, method=method, data=form)
    assert response.status_code < 500


@pytest.mark.parametrize("when", ["9999-12-31T23:59", "0001-01-01T00:00"])
def test_a_schedule_date_out_of_range_is_a_form_error(world, when):
    world.restore()
    response = _client(world, "admin").post("/posts/new", data={**SCHEDULE, "publish_at": when})
    assert response.status_code == 400
    assert "Choose a date between 1900 and 2999." in response.text
