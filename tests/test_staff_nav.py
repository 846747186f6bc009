"""Staff navigation in the header: each role's links, the waiting count, never on cached pages."""

from __future__ import annotations

import re

import pytest

from blogapp.models import CommentStatus, Role
from tests.builders import make_post, make_user
from tests.helpers import AuthActions
from tests.test_comments import add


@pytest.fixture
def app(cached_app):
    """The page cache on: staff links must never reach a cached anonymous page."""
    return cached_app


@pytest.fixture
def people(app):
    with app.app_context():
        writer = make_user("writer", role=Role.AUTHOR)
        other = make_user("other", role=Role.AUTHOR)
        make_user("boss", role=Role.ADMIN)
        make_user("ed", role=Role.EDITOR)
        make_user("mia")
        make_user("gone", role=Role.ADMIN, suspended=True)
        mine = make_post(writer, title="Writer's post").slug
        theirs = make_post(other, title="Other's post").slug
    for _ in range(2):
        add(app, mine, "Waiting on mine", status=CommentStatus.PENDING)
    add(app, theirs, "Waiting on theirs", status=CommentStatus.PENDING)
    add(app, theirs, "Already approved")
    return {"mine": mine}


def staff_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="staff-nav" aria-label="Staff">(.*?)</nav>', page, re.S)
    if nav is None:
        return []
    return [
        " ".join(re.sub(r"<[^>]+>", " ", link).split())
        for link in re.findall(r"<a [^>]*>(.*?)</a>", nav.group(1), re.S)
    ]


def as_user(app, username):
    client = app.test_client()
    if username:
        AuthActions(client).login(username)
    return client


@pytest.mark.parametrize(
    "who, links",
    [
        (None, []),
        ("mia", []),
        ("writer", ["Write", "Dashboard", "Comments 2 waiting"]),  # own posts' comments
        ("ed", ["Write", "Dashboard", "Comments 3 waiting"]),  # editors moderate all
        (
            "boss",
            [
                "Write",
                "Dashboard",
                "Comments 3 waiting",
                "Users",
                "Categories",
                "Settings",
                "Audit log",
            ],
        ),
    ],
)
def test_each_role_sees_its_links_on_every_page(app, people, who, links):
    client = as_user(app, who)
    for path in ("/", f"/posts/{people['mine']}", "/search?q=care", "/no-such-page", "/account"):
        response = client.get(path)
        if path == "/account" and who is None:
            continue  # the sign-in page instead
        assert staff_links(response.text) == links, (who, path)


def test_links_go_where_they_say_and_mark_the_current_page(app, people):
    client = as_user(app, "boss")
    page = client.get("/admin/settings").text
    nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.S).group(0)
    targets = re.findall(r'href="([^"]+)"', nav)
    assert targets == [
        "/posts/new",
        "/dashboard",
        "/admin/comments",
        "/admin/users",
        "/admin/categories",
        "/admin/settings",
        "/admin/audit",
    ]
    assert '<a href="/admin/settings" aria-current="page">' in nav
    for target in targets:
        assert client.get(target).status_code == 200, target


def test_a_suspended_admin_sees_no_staff_links(app, people):
    client = app.test_client()
    response = AuthActions(client).login("gone", follow=True)
    assert staff_links(response.text) == []
    assert staff_links(client.get("/").text) == []


def test_cached_anonymous_pages_never_carry_staff_links(app, people):
    staff = as_user(app, "boss")
    reader = app.test_client()
    # Staff first: their page must not be stored for readers.
    staff_page = staff.get("/")
    assert "Settings" in staff_links(staff_page.text)
    assert staff_page.headers.get("X-Page-Cache") != "hit"
    first = reader.get("/")
    second = reader.get("/")
    assert second.headers["X-Page-Cache"] == "hit"
    assert staff_links(first.text) == staff_links(second.text) == []
    assert 'aria-label="Staff"' not in second.text
    # And a cached page is never served to staff: they still get their links.
    assert "Settings" in staff_links(staff.get("/").text)
    # A cookieless reader (answered before Flask runs) gets no staff links either.
    bare = app.test_client(use_cookies=False).get("/")
    assert bare.headers["X-Page-Cache"] == "hit" and 'aria-label="Staff"' not in bare.text
