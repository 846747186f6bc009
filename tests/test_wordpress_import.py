"""Moving a WordPress blog in: `flask import-wxr`, its content rules, safety and old links."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from blogapp.extensions import db
from blogapp.models import Comment, Post, PostKind, PostStatus, Role, User
from blogapp.wordpress.shortcodes import expand
from blogapp.wordpress.wpautop import wpautop
from tests import helpers
from tests.builders import make_post, make_user
from tests.conftest import BACKENDS

FIXTURES = Path(__file__).parent / "fixtures" / "wxr"
SITE = FIXTURES / "coop-site.xml"


def import_file(runner, path: Path, *options: str):
    return runner.invoke(args=["import-wxr", str(path), *options])


@pytest.fixture
def imported(app, runner):
    """The co-op's old site imported over a database with a post already at one of its slugs."""
    with app.app_context():
        make_user(username="editor", email="existing@example.org", role=Role.AUTHOR)
        make_post(title="Shift Swap Tips")
    result = import_file(runner, SITE)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module", params=BACKENDS)
def imported_site(request, tmp_path_factory):
    """The same import once per database, for the tests that only read it: (app, result)."""
    with helpers.shared_app(request, tmp_path_factory, "wxr") as app:
        with app.app_context():
            make_user(username="editor", email="existing@example.org", role=Role.AUTHOR)
            make_post(title="Shift Swap Tips")
        result = import_file(app.test_cli_runner(), SITE)
        assert result.exit_code == 0, result.output
        with helpers.kept_as_is(app):
            yield app, result


def snapshot(app) -> dict:
    """Every row of every table, to show that something changed nothing.

    The audit log is left out: each import run is a staff action it records.
    """
    with app.app_context():
        return {
            table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
            if table.name != "audit_log"
        }


# wpautop and shortcodes, as WordPress renders them ---------------------------------------


def test_wpautop_blank_lines_make_paragraphs_and_single_newlines_breaks():
    html = wpautop("First line\nsecond line\n\nNew paragraph")
    assert html == "<p>First line<br />\nsecond line</p>\n<p>New paragraph</p>\n"


def test_wpautop_leaves_blocks_and_pre_alone():
    html = wpautop(
        "Intro\n<ul>\n<li>one</li>\n</ul>\n<pre>keep\n\nthis</pre>\n<blockquote>Quote</blockquote>"
    )
    assert "<p>Intro</p>" in html
    assert "<ul>\n<li>one</li>\n</ul>" in html
    assert "<pre>keep\n\nthis</pre>" in html
    assert "<blockquote><p>Quote</p></blockquote>" in html
    assert "<p><ul>" not in html and "<p><pre>" not in html


def test_caption_shortcode_becomes_figure_and_other_shortcodes_follow_the_rules():
    dropped: list[str] = []
    html = expand(
        '[caption id="a" width="300"]<img src="https://x.test/a.jpg" alt="A" /> Our team[/caption] '
        '[gallery ids="1,2"] [note]kept text[/note] [sic] [[caption]]',
        dropped.append,
    )
    figure = '<figure><img src="https://x.test/a.jpg" alt="A" /><figcaption>Our team</figcaption>'
    assert figure + "</figure>" in html
    assert "gallery" not in html
    assert "kept text" in html and "[note]" not in html
    assert "[sic]" in html
    assert "[caption]" in html  # [[caption]] is WordPress's escape for the literal text
    assert dropped == ["gallery", "note"]


# The import, seen by readers ---------------------------------------------------------------


class TestTheImportedSite:
    """What readers and staff find after the import. These tests only read it, so they
    share one import per database (imported_site) instead of one import each."""

    @pytest.fixture
    def app(self, imported_site):
        return imported_site[0]

    @pytest.fixture
    def imported(self, imported_site):
        return imported_site[1]

    def test_import_summary_counts_each_kind(self, imported):
        out = imported.output
        assert "Import committed." in out
        for kind in ("attachment", "nav_menu_item", "revision", "pingback", "trackback"):
            assert any(
                line.startswith(kind) and line.rstrip().endswith("1") for line in out.splitlines()
            ), kind
        post_line = next(line for line in out.splitlines() if line.startswith("post "))
        assert post_line.split()[1] == "7"
        comment_line = next(line for line in out.splitlines() if line.startswith("comment "))
        assert comment_line.split()[1] == "5"

    def test_classic_post_gets_paragraphs_contents_figure_and_no_script(self, client, imported):
        page = client.get("/posts/welcome-to-the-co-op").text
        assert "<p>We are a worker-owned co-op.<br>\nEvery nurse is an owner.</p>" in page
        assert "<p>This second paragraph follows a blank line.</p>" in page
        assert '<h2 id="getting-paid"><a href="#getting-paid" class="heading-anchor">' in page
        assert page.count('href="#how-shifts-work"') == 2  # the heading's anchor and the contents
        assert "<figcaption>The team at the spring meeting</figcaption>" in page
        assert "alert(" not in page and "[gallery" not in page
        assert "Every two weeks, [sic] on time." in page

    def test_block_editor_post_cdata_and_odd_unicode(self, client, imported):
        page = client.get("/posts/unicode-post").text
        assert "Ünïcödé — “quotes” 🩺 &amp; &lt;b&gt;CDATA&lt;/b&gt; ]]&gt; done" in page
        assert "<p>Block editor paragraph with emoji 👩‍⚕️" in page and "שלום" in page
        assert "CDATA end ]]&gt; survived." in page
        assert "wp:paragraph" not in page and "<p><p>" not in page
        assert "A hand-written excerpt." in client.get("/").text

    def test_statuses_private_scheduled_password_and_draft_are_not_public(
        self, client, app, imported
    ):
        for slug in ("staff-only-notes", "coming-soon", "members-only", "unfinished-idea"):
            assert client.get(f"/posts/{slug}").status_code == 404
        with app.app_context():
            status = dict(db.session.execute(select(Post.slug, Post.status)).all())
        assert status["staff-only-notes"] == PostStatus.DRAFT
        assert status["coming-soon"] == PostStatus.SCHEDULED
        assert status["members-only"] == PostStatus.DRAFT
        assert "password-protected: imported as a draft" in imported.output

    def test_page_becomes_a_page_and_sticky_flag_is_kept(self, client, app, imported):
        assert "We are nurses, aides and therapists." in client.get("/pages/about-us").text
        with app.app_context():
            about = db.session.scalar(select(Post).where(Post.slug == "about-us"))
            welcome = db.session.scalar(select(Post).where(Post.wp_id == 101))
            assert about.kind == PostKind.PAGE
            assert welcome.sticky and welcome.body_format == "html"
            assert welcome.category.slug == "news"  # first category; hierarchy flattened
            assert {t.slug for t in welcome.tags} == {"staffing", "cafe-care", "nursing-tips"}

    def test_authors_matched_by_email_or_created_without_password(self, app, imported):
        with app.app_context():
            users = {u.username: u for u in db.session.scalars(select(User))}
            assert users["jane"].role == Role.AUTHOR and users["jane"].password_hash is None
            assert users["jane"].display_name == "Jane Doe, RN"
            assert users["gw-wp"].email is None and users["gw-wp"].password_hash is None
            staff = db.session.scalar(select(Post).where(Post.wp_id == 103))
            assert staff.author.username == "editor"  # matched by email, case-insensitively
        assert "has no email" in imported.output

    def test_comments_threaded_three_deep_with_statuses_and_truncated_ips(
        self, client, app, imported
    ):
        with app.app_context():
            post = db.session.scalar(select(Post).where(Post.wp_id == 101))
            comments = {
                c.wp_id: c
                for c in db.session.scalars(select(Comment).where(Comment.post_id == post.id))
            }
            assert set(comments) == {11, 12, 13, 14, 15}  # no pingback, trackback or trashed one
            top, reply, third = comments[11], comments[12], comments[13]
            assert top.parent_id is None and top.root_id == top.id
            assert reply.parent_id == top.id and reply.root_id == top.id
            assert third.parent_id == reply.id and third.root_id == top.id
            assert (comments[14].status, comments[15].status) == ("pending", "spam")
            assert top.ip == "203.0.113.0" and reply.ip == "2001:db8:abcd::"
            assert (
                top.guest_name == "Maria Lopez" and top.guest_website == "https://maria.example.net"
            )
            assert reply.user.username == "jane"
            assert third.guest_website == ""  # javascript: dropped
            assert "<script" not in third.body_html and "alert" not in third.body_html
            assert "javascript:" not in third.body_html
            assert (
                'href="https://alliedup.example/jobs" rel="nofollow ugc noopener"'
                in third.body_html
            )
            assert "<script>" in third.body_md  # the original text is kept as the source
            assert post.comment_count == 3
        assert "3 comments" in client.get("/").text

    # Old links ----------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("/2023/04/05/welcome-to-the-co-op/", "/posts/welcome-to-the-co-op"),
            ("/2023/05/01/%C3%BCnicode-post/", "/posts/unicode-post"),
            ("/2023/05/04/shift-swap-tips/", "/posts/shift-swap-tips-2"),  # slug was taken here
            ("/?p=101", "/posts/welcome-to-the-co-op"),
            ("/?page_id=106", "/pages/about-us"),
            ("/?p=106", "/pages/about-us"),
        ],
    )
    def test_old_wordpress_links_redirect_permanently(self, client, imported, old, new):
        response = client.get(old)
        assert response.status_code == 301
        assert response.headers["Location"] == new
        assert client.get(new).status_code == 200

    @pytest.mark.parametrize(
        "old",
        [
            "/2023/05/02/staff-only-notes/",
            "/2020/01/01/welcome-to-the-co-op/",
            "/2023/04/05/nope/",
            "/2023/13/45/welcome-to-the-co-op/",
        ],
    )
    def test_old_links_to_hidden_or_unknown_posts_are_not_found(self, client, imported, old):
        assert client.get(old).status_code == 404

    def test_p_naming_a_draft_or_nothing_shows_the_home_page(self, client, imported):
        for query in ("/?p=103", "/?p=999999", "/?p=abc", "/?page_id=-1"):
            response = client.get(query)
            assert response.status_code == 200, query
            assert "Welcome to the Co-op" in response.text

    def test_duplicate_slug_keeps_the_existing_post_and_warns(self, client, imported):
        assert "slug 'shift-swap-tips' was taken; it is now 'shift-swap-tips-2'" in imported.output
        assert (
            "The WordPress post whose slug is taken here."
            in client.get("/posts/shift-swap-tips-2").text
        )
        assert "Some words about care." in client.get("/posts/shift-swap-tips").text


# Safe to run again, dry runs, hostile and broken files ---------------------------------------


def test_running_the_same_import_again_changes_nothing(app, runner, imported):
    before = snapshot(app)
    again = import_file(runner, SITE)
    assert again.exit_code == 0, again.output
    assert snapshot(app) == before
    post_line = next(line for line in again.output.splitlines() if line.startswith("post "))
    assert post_line.split()[1:4] == ["-", "-", "7"]  # none imported or updated; 7 unchanged


def test_a_post_changed_on_wordpress_since_is_updated_in_place(app, runner, imported, tmp_path):
    changed = tmp_path / "changed.xml"
    text = SITE.read_text(encoding="utf-8")
    text = text.replace("Pick the shifts you want.", "Pick any shift you like.").replace(
        "<wp:post_modified_gmt><![CDATA[2023-04-06 12:00:00]]>",
        "<wp:post_modified_gmt><![CDATA[2024-01-01 12:00:00]]>",
    )
    changed.write_text(text, encoding="utf-8")
    result = import_file(runner, changed)
    assert result.exit_code == 0, result.output
    post_line = next(line for line in result.output.splitlines() if line.startswith("post "))
    assert post_line.split()[1:4] == ["-", "1", "6"]
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.wp_id == 101))
        assert "Pick any shift you like." in post.body_html and post.slug == "welcome-to-the-co-op"
        assert (
            db.session.scalar(select(func.count(Comment.id)).where(Comment.post_id == post.id)) == 5
        )
        assert post.comment_count == 3


def test_dry_run_reports_without_writing(app, runner):
    before = snapshot(app)
    result = import_file(runner, SITE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written." in result.output
    assert (
        next(line for line in result.output.splitlines() if line.startswith("post ")).split()[1]
        == "7"
    )
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entity_attacks_are_refused_and_nothing_is_written(app, runner, name):
    before = snapshot(app)
    result = import_file(runner, FIXTURES / name)
    assert result.exit_code == 1
    assert "Refused: the file declares a DTD or entities" in result.output
    assert "Nothing was imported." in result.output
    assert "lollol" not in result.output and "root:" not in result.output
    assert snapshot(app) == before


def test_malformed_xml_names_the_line_and_writes_nothing(app, runner, tmp_path):
    before = snapshot(app)
    result = import_file(runner, FIXTURES / "malformed.xml")
    assert result.exit_code == 1
    assert "Malformed XML at line 213, column 18: mismatched tag." in result.output
    assert snapshot(app) == before  # the good posts before the break were rolled back


def test_a_file_that_is_not_a_wordpress_export_is_refused(runner, tmp_path):
    other = tmp_path / "feed.xml"
    other.write_text("<html><body>hi</body></html>", encoding="utf-8")
    result = import_file(runner, other)
    assert result.exit_code == 1
    assert "Not a WordPress export" in result.output


def test_batches_are_flushed_without_losing_threads(app, runner, tmp_path, monkeypatch):
    """Small batches: items and their comments cross several flushes and stay intact."""
    from blogapp.wordpress import importer

    monkeypatch.setattr(importer, "BATCH", 2)
    copy = tmp_path / "site.xml"
    shutil.copy(SITE, copy)
    result = import_file(runner, copy)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id)).where(Post.wp_id.is_not(None))) == 8
        third = db.session.scalar(select(Comment).where(Comment.wp_id == 13))
        assert third.parent.parent.wp_id == 11 and third.root_id == third.parent.parent.id
