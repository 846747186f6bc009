"""Every query the reading pages send uses an index, on SQLite and on PostgreSQL.

The statements are the real ones: captured (with their parameters) while the pages are
requested, then run again under EXPLAIN QUERY PLAN (SQLite) or EXPLAIN with sequential
scans discouraged (PostgreSQL: a table this small would otherwise be scanned whatever
indexes exist; with enable_seqscan off, a Seq Scan that remains means no index fits).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from blogapp.extensions import db
from blogapp.models import SlugRedirect
from tests.builders import make_category, make_post, make_user
from tests.test_query_counts import add_comments

# Tables that grow with the blog: a query may never read them whole.
GROWING = {"posts", "comments", "post_tags", "tags", "users", "slug_redirects", "subscriptions"}
SQLITE_ACCESS = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS (\w+))?(.*)$")
PG_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@pytest.fixture
def blog(app):
    with app.app_context():
        advice = make_category("Advice")
        make_category("News")
        author = make_user(username="writer", role="author")
        posts = [
            make_post(
                author,
                title=f"Care post {n}",
                body="Care and empathy.",
                tags=["care", f"t{n}"],
                category=advice,
                published_ago=timedelta(hours=n + 1),
            )
            for n in range(12)
        ]
        make_post(author, title="About us", kind="page")
        add_comments(posts[3].id, 60)
        db.session.add(SlugRedirect(old_slug="an-old-name", post_id=posts[3].id))
        db.session.commit()
        first = posts[0].published_at
        return {
            "post": f"/posts/{posts[3].slug}",
            "month": f"/archive/{first.year}/{first.month}",
        }


def capture(app, client, paths: list[str]) -> list[tuple[str, object]]:
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for path in paths:
            assert client.get(path).status_code in (200, 301), path
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def full_scans_sqlite(conn, statement, parameters) -> list[str]:
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    bad = []
    for row in rows:
        detail = row[-1]
        match = SQLITE_ACCESS.match(detail)
        if not match:
            continue
        table, rest = match.group(2), match.group(4)
        table = re.sub(r"_\d+$", "", table)
        uses_index = any(
            word in rest for word in ("INDEX", "PRIMARY KEY", "ROWID", "VIRTUAL TABLE")
        )
        if table in GROWING and not uses_index:
            bad.append(detail)
    return bad


def full_scans_postgresql(conn, statement, parameters) -> list[str]:
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    plan = "\n".join(row[0] for row in rows)
    return [m.group(0) for m in PG_SEQ_SCAN.finditer(plan) if m.group(1) in GROWING]


def test_reading_pages_use_indexes(app, client, blog, auth):
    paths = [
        "/",
        "/?page=2",
        "/category/advice",
        "/tag/care",
        "/author/writer",
        blog["month"],
        blog["post"],
        blog["post"] + "?order=newest",
        "/posts/an-old-name",
        "/pages/about-us",
        "/feed.xml",
        "/category/advice/feed.xml",
        "/search?q=care",
        "/sitemap.xml",
    ]
    statements = capture(app, client, paths)
    with app.app_context():
        make_user(username="member")
    auth.login("member")
    statements += capture(app, client, ["/", blog["post"]])
    assert len(statements) > 30

    problems = []
    with app.app_context():
        with db.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            for statement, parameters in statements:
                with conn.begin():
                    if sqlite:
                        bad = full_scans_sqlite(conn, statement, parameters)
                    else:
                        bad = full_scans_postgresql(conn, statement, parameters)
                    if bad:
                        problems.append(f"{bad}\n  in: {statement}")
    assert not problems, "\n\n".join(problems)


def plan_text(conn, statement, parameters) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(row[-1] for row in rows)
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("path", "index"),
    [
        ("/", "ix_posts_listing"),
        ("/category/advice", "ix_posts_category_listing"),
        ("/author/writer", "ix_posts_author_listing"),
        ("POST", "ix_comments_root"),
    ],
)
def test_list_queries_name_their_index(app, client, blog, path, index):
    """The page's main list query, read back: its plan names the index made for it."""
    path = blog["post"] if path == "POST" else path
    statements = capture(app, client, [path])
    table = "comments" if index.startswith("ix_comments") else "posts"
    main = [
        (s, p)
        for s, p in statements
        if f"FROM {table}" in s and "ORDER BY" in s and not s.startswith("SELECT count(")
    ]
    assert main, statements
    with app.app_context(), db.engine.connect() as conn, conn.begin():
        plans = [plan_text(conn, s, p) for s, p in main]
        sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        assert any(index in plan for plan in plans), "\n\n".join(plans)
    else:
        # PostgreSQL picks among fitting indexes by statistics; any index on the table will do.
        found = re.compile(rf"Index (Only )?Scan (Backward )?using \w+ on {table}\b")
        assert all(found.search(plan) for plan in plans), "\n\n".join(plans)
