"""Nothing is stored or shown raw: only markup.py's *_html is printed |safe; imports re-render."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from blogapp import backup, site_settings
from blogapp.extensions import db
from blogapp.models import Category, Comment, Post, Role, User
from tests.builders import make_category, make_comment, make_post, make_user
from tests.helpers import AuthActions, csrf_token

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "blogapp" / "templates"
SAFE = re.compile(r"\{\{-?\s*(.+?)\s*\|\s*safe\b")
# What markup.py's output may be assigned from: its functions, or a value already made by them.
FROM_MARKUP = re.compile(
    r"render_\w+\(|strip_links\(|rendered\.html|_rendered\(|^\"\"|^''|row\.body_html|stored\.get\("
)
EVIL = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'


def html_fields() -> set[str]:
    """The names markup.py output is kept under: *_html columns, and site settings'."""
    columns = {c.name for t in db.metadata.sorted_tables for c in t.columns}
    settings = set(getattr(site_settings.SiteSettings, "__dataclass_fields__", {}))
    return {name for name in columns | settings if name.endswith("_html")}


def test_only_markup_html_is_printed_safe():
    """Every |safe in every template prints a *_html value that markup.py made."""
    allowed, printed = html_fields(), set()
    for template in TEMPLATES.rglob("*.*"):
        for expression in SAFE.findall(template.read_text()):
            name = re.findall(r"\w+", expression)[-1]
            assert name in allowed, f"{template.relative_to(ROOT)}: {expression}|safe"
            printed.add(name)
    assert {"body_html", "bio_html", "description_html"} <= printed


def test_every_html_field_is_written_from_markup():
    """Each place that sets a *_html value takes it from markup.py (a scan of blogapp/)."""
    fields = "|".join(sorted(html_fields()))
    assignment = re.compile(rf"""(?:\.|\b|["'])({fields})["']?\s*(?::|=)(?!=)\s*(.+)""")
    for path in (ROOT / "blogapp").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for line in path.read_text().splitlines():
            match = assignment.search(line)
            if not match or "Mapped[" in line or line.lstrip().startswith(("#", '"')):
                continue
            value = match.group(2).split("#")[0].strip().rstrip(",)")
            if re.match(r"(str|None)\b[^=]*$", value):
                continue  # a parameter's annotation, not an assignment
            if match.group(0).split(":")[0].strip() in fields.split("|") and "=" in value:
                value = value.split("=", 1)[1].strip()  # an annotated default: `x_html: str = ""`
            assert FROM_MARKUP.search(value) or value.endswith("_html"), (
                f"{path.relative_to(ROOT)}: {line.strip()}"
            )


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_user("boss", role=Role.ADMIN)
    AuthActions(client).login("boss")
    return client


def test_category_description_cannot_redirect_the_page(app, admin):
    response = admin.post(
        "/admin/categories",
        data={
            "name": "Night care",
            "description": f"{EVIL}Stories *from* the ward <script>alert(1)</script>",
            "csrf_token": csrf_token(admin, "/admin/categories"),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        category = db.session.scalar(select(Category).where(Category.name == "Night care"))
        make_post(title="On the ward", category=category)
    page = app.test_client().get("/category/night-care").text
    assert "http-equiv" not in page and "<script>alert" not in page
    assert "Stories <em>from</em> the ward" in page


def test_an_excerpt_shows_exactly_what_the_author_typed(app, admin):
    typed = "Blood pressure > 140 & pulse < 60"
    response = admin.post(
        "/posts/new",
        data={
            "kind": "post",
            "title": "Vital signs",
            "body": "Some body text.",
            "excerpt": typed,
            "category": "",
            "tags": "",
            "publish": "Publish",
            "csrf_token": csrf_token(admin, "/posts/new"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    home = app.test_client().get("/").text
    assert "Blood pressure &gt; 140 &amp; pulse &lt; 60" in home  # escaped once: shows as typed
    assert "&amp;gt;" not in home and "&amp;amp;" not in home


# -- import-json ---------------------------------------------------------------------------


@pytest.fixture
def export(app, runner, tmp_path):
    """A small blog exported to a file, then wiped; returns (path, data)."""
    with app.app_context():
        writer = make_user("writer", role=Role.AUTHOR, bio="I *write*")
        news = make_category("News")
        news.description, news.description_html = "About *news*", "<p>About <em>news</em></p>"
        post = make_post(writer, title="Shift notes", body="**Bold** words", category=news)
        make_comment(post, "A *kind* word")
        db.session.commit()
    dump = tmp_path / "export.json"
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(backup.data_tables()):
                connection.execute(delete(table))
    return dump, json.loads(dump.read_text())


def rewrite(dump: Path, data: dict, table: str, column: str, value, row: int = 0) -> None:
    names = data["tables"][table]["columns"]
    data["tables"][table]["rows"][row][names.index(column)] = value
    dump.write_text(json.dumps(data))


def test_import_makes_html_again_from_the_source(app, runner, export):
    """Every *_html column of the schema, forged in the file, is rebuilt from its source."""
    dump, data = export
    forged = 0
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_html") and data["tables"][table.name]["rows"]:
                rewrite(dump, data, table.name, column.name, "<script>alert(1)</script>")
                forged += 1
    assert forged >= 4  # posts, comments, users, categories
    result = runner.invoke(args=["import-json", str(dump)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Post.body_html)) == "<p><strong>Bold</strong> words</p>\n"
        assert "<em>kind</em>" in db.session.scalar(select(Comment.body_html))
        writer = db.session.scalar(select(User).where(User.username == "writer"))
        assert writer.bio_html == "<p>I <em>write</em></p>\n"
        assert "<em>news</em>" in db.session.scalar(select(Category.description_html))
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if column.name.endswith("_html"):
                    for value in db.session.scalars(select(column)):
                        assert "<script" not in (value or ""), (table.name, column.name)


@pytest.mark.parametrize(
    "table, column, value, message",
    [
        ("users", "role", "emperor", "users row 1 (id 1): role must be one of admin, author"),
        ("users", "suspended", "no", "users row 1 (id 1): suspended must be true or false"),
        ("users", "username", "x" * 31, "users row 1 (id 1): username is longer than 30"),
        ("posts", "title", None, "posts row 1 (id 1): title is empty (null) but is required"),
        ("posts", "id", "1", "posts row 1 (id 1): id must be a whole number"),
        ("posts", "author_id", 2**40, "posts row 1 (id 1): author_id is out of range"),
        ("posts", "author_id", 999, "posts row 1 (id 1): author_id 999 names no row of users"),
        ("posts", "status", "live", "posts row 1 (id 1): status must be one of draft"),
        ("posts", "published_at", "yesterday", "published_at is not an ISO date"),
        ("posts", "published_at", "9999-12-31T23:59:00+00:00", "published_at is not between"),
        ("posts", "created_at", "2024-01-01T10:00:00", "created_at has no time zone"),
        ("posts", "updated_at", 20240101, "updated_at must be an ISO date"),
        ("comments", "body_md", ["list"], "comments row 1 (id 1): body_md must be text"),
    ],
)
def test_a_bad_export_stops_naming_row_and_field_and_imports_nothing(
    app, runner, export, table, column, value, message
):
    dump, data = export
    rewrite(dump, data, table, column, value)
    result = runner.invoke(args=["import-json", str(dump)])
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    with app.app_context():
        for each in backup.data_tables():
            assert db.session.scalar(select(db.func.count()).select_from(each)) == 0, each.name


def test_import_takes_control_characters_out_of_titles_and_names(app, runner, export):
    dump, data = export
    rewrite(dump, data, "posts", "title", "Shift\r\nBcc: everyone@example.org")
    rewrite(dump, data, "comments", "guest_name", "Ana\x85\u2028Bee")
    result = runner.invoke(args=["import-json", str(dump)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Shift Bcc: everyone@example.org"
        assert db.session.scalar(select(Comment.guest_name)) == "Ana Bee"
