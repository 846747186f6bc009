"""No N+1: reading pages issue the same number of SQL statements whatever is on them."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, utcnow
from tests.builders import make_category, make_comment, make_post, make_user

TAGS = [f"topic {n}" for n in range(8)]


@contextmanager
def counting(app):
    """Collect every SQL statement the app sends while the block runs."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, path: str) -> list[str]:
    assert client.get(path).status_code == 200  # warm up: first-request work isn't counted
    with counting(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return statements


def explain(before: list[str], after: list[str]) -> str:
    return "\n---\n".join(["BEFORE", *before, "AFTER", *after])


@pytest.fixture
def blog(app):
    """One post with many tags, then a way to add nine more by other authors."""
    with app.app_context():
        category = make_category("Advice")
        author = make_user(username="writer", role="author", display_name="Wren Writer")
        make_post(author, title="Older neighbour", published_ago=timedelta(hours=5))
        first = make_post(
            author,
            title="First care post",
            body="Care and empathy.",
            tags=["care", *TAGS],
            category=category,
            published_ago=timedelta(hours=3),
        )
        make_post(author, title="Newer neighbour", published_ago=timedelta(minutes=30))
        month = f"/archive/{first.published_at.year}/{first.published_at.month}"
        ids = {"category": category.id, "author": author.id, "post": first.id}

    def add_nine():
        with app.app_context():
            category = db.session.get(type(first.category), ids["category"])
            author = db.session.get(type(first.author), ids["author"])
            for n in range(9):
                writer = author if n % 2 else make_user(role="author", display_name=f"Author {n}")
                make_post(
                    writer,
                    title=f"More care {n}",
                    body="Care and empathy again.",
                    tags=["care", *TAGS, f"extra {n}"],
                    category=category,
                    published_ago=timedelta(hours=2, minutes=n),
                )

    return {"add_nine": add_nine, "month": month, "post_id": ids["post"]}


LIST_PAGES = [
    "/",
    "/category/advice",
    "/tag/care",
    "/author/writer",
    "MONTH",
    "/feed.xml",
    "/category/advice/feed.xml",
    "/search?q=care",
    "/sitemap.xml",
]


@pytest.mark.parametrize("path", LIST_PAGES)
def test_list_pages_issue_the_same_statements_for_1_and_10_posts(app, client, blog, path):
    path = blog["month"] if path == "MONTH" else path
    before = statements_for(app, client, path)
    blog["add_nine"]()
    after = statements_for(app, client, path)
    assert len(after) == len(before), explain(before, after)
    assert "more-care-" in client.get(path).text  # the new posts really are on the page


def add_comments(post_id: int, count: int, start: int = 0) -> None:
    """Threads with replies by members and guests, saved as the app saves comments."""
    members = [make_user(display_name=f"Member {n}") for n in range(10)]
    base = utcnow() - timedelta(days=1)
    post = db.session.get(Post, post_id)
    roots: list[Comment] = []
    for n in range(start, start + count):
        if n % 3 == 0:
            who = {"guest_name": f"Guest {n}", "guest_email": f"g{n}@example.org"}
        else:
            who = {"user": members[n % len(members)]}
        # Every other one is a reply, to the newest thread.
        parent = roots[-1] if roots and n % 2 else None
        comment = make_comment(
            post,
            f"Comment {n}",
            CommentStatus.APPROVED,
            parent,
            commit=False,
            created_at=base + timedelta(seconds=n),
            **who,
        )
        if parent is None:
            roots.append(comment)
    db.session.commit()


@pytest.mark.parametrize("query", ["", "?order=newest", "?cpage=2"])
def test_post_page_issues_the_same_statements_for_1_and_300_comments(app, client, blog, query):
    with app.app_context():
        post = db.session.get(Post, blog["post_id"])
        path = f"/posts/{post.slug}"
        add_comments(post.id, 1 if not query.startswith("?cpage") else 120)
    before = statements_for(app, client, path + query)
    with app.app_context():
        add_comments(blog["post_id"], 300, start=1000)
    after = statements_for(app, client, path + query)
    assert len(after) == len(before), explain(before, after)
    page = client.get(path + query).text
    assert "Member " in page and "Guest " in page


def test_signed_in_post_page_is_constant_too(app, client, blog, auth):
    with app.app_context():
        make_user(username="reader")
        post = db.session.get(Post, blog["post_id"])
        path = f"/posts/{post.slug}"
        add_comments(post.id, 1)
    auth.login("reader")
    before = statements_for(app, client, path)
    with app.app_context():
        add_comments(blog["post_id"], 300, start=1000)
    after = statements_for(app, client, path)
    assert len(after) == len(before), explain(before, after)
