"""Moving a real WordPress site in: today's dialects, every old address, the media library,
block content, the report, and speed that doesn't change what is stored."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from blogapp import markup
from blogapp.extensions import db
from blogapp.models import Category, Comment, OldAddress, Post, PostStatus, WordPressMedia
from blogapp.wordpress import content
from blogapp.wordpress.importer import import_wxr
from tests import helpers

FIXTURES = Path(__file__).parent / "fixtures" / "wxr"
MOVE_IN = FIXTURES / "move-in.xml"
LEGACY = FIXTURES / "wxr-1.0.xml"


def build_media(root: Path) -> Path:
    """A copy of wp-content/uploads: a JPEG with GPS EXIF, a PNG, a PDF, and a file outside."""
    uploads = root / "uploads"
    (uploads / "2024" / "03").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0)}  # GPS latitude
    Image.new("RGB", (1200, 800), (20, 40, 90)).save(
        uploads / "2024" / "03" / "ward.jpg", "JPEG", exif=exif
    )
    Image.new("RGBA", (64, 64), (200, 10, 10, 255)).save(uploads / "2024" / "03" / "noalt.png")
    (uploads / "2024" / "03" / "notes.pdf").write_bytes(b"%PDF-1.4 not an image")
    Image.new("RGB", (10, 10)).save(root / "secret.jpg")  # outside the folder: never read
    return uploads


@pytest.fixture
def media_dir(tmp_path) -> Path:
    return build_media(tmp_path / "old-site")


@pytest.fixture
def moved_in(app, runner, media_dir, tmp_path):
    report = tmp_path / "report.json"
    result = runner.invoke(
        args=["import-wxr", str(MOVE_IN), "--media", str(media_dir), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    return result, json.loads(report.read_text(encoding="utf-8"))


def post(app, wp_id: int) -> Post:
    with app.app_context():
        found = db.session.scalar(select(Post).where(Post.wp_id == wp_id))
        db.session.expunge_all()
        return found


def snapshot(app) -> dict:
    """Every row of every table but the audit log (each import run is recorded there)."""
    with app.app_context():
        return {
            table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
            if table.name != "audit_log"
        }


# 1. Every dialect ---------------------------------------------------------------------------


def test_https_namespace_export_imports_posts_pages_and_counts_the_rest(moved_in):
    _, report = moved_in
    counts = report["counts"]
    assert counts["post"]["imported"] == 5  # 201, 204 (draft), 205, 206 and 208 (id from link)
    assert counts["page"]["imported"] == 2
    for kind in ("wp_template", "wp_template_part", "wp_global_styles", "wp_navigation",
                 "wp_font_family"):  # fmt: skip
        assert report["skipped_because"][kind] == {"theme-only type": 1}, kind
    assert report["skipped_because"]["wp_block"] == {"reusable block: expanded where it is used": 1}
    assert report["skipped_because"]["term"] == {"taxonomy nav_menu": 1}


@pytest.mark.parametrize(
    ("version", "scheme"), [("1.0", "http"), ("1.1", "http"), ("1.1", "https"), ("1.2", "https")]
)
def test_every_wxr_version_and_scheme_imports(app, runner, client, tmp_path, version, scheme):
    text = LEGACY.read_text(encoding="utf-8")
    text = text.replace(
        "http://wordpress.org/export/1.0/", f"{scheme}://wordpress.org/export/{version}/"
    )
    text = text.replace("<wp:wxr_version>1.0<", f"<wp:wxr_version>{version}<")
    export = tmp_path / "legacy.xml"
    export.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import-wxr", str(export)])
    assert result.exit_code == 0, result.output
    page = client.get("/posts/first-legacy-post").text
    assert "<p>Written in 2010.</p>" in page and "An old comment." in page
    with app.app_context():
        legacy = db.session.scalar(select(Post).where(Post.wp_id == 401))
        assert legacy.category.slug == "news"
        assert [t.slug for t in legacy.tags] == ["care"]  # WXR 1.0's domain="tag", once
        assert legacy.excerpt == "Legacy excerpt"
    assert client.get("/?p=401").headers["Location"] == "/posts/first-legacy-post"
    assert client.get("/archives/402/").headers["Location"] == "/posts/second-legacy-post"


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("http://wordpress.org/export/9.9/", "WXR version '9.9' is not one this importer knows"),
        (
            "https://wordpress.org/exports/1.2/",
            "its namespace is 'https://wordpress.org/exports/1.2/",
        ),
        ("http://example.com/feed/", "declares no WordPress export namespace"),
    ],
)
def test_a_file_the_importer_cannot_read_says_why(app, runner, tmp_path, namespace, message):
    text = LEGACY.read_text(encoding="utf-8").replace("http://wordpress.org/export/1.0/", namespace)
    text = text.replace("<wp:wxr_version>1.0<", "<wp:wxr_version>9.9<")
    export = tmp_path / "odd.xml"
    export.write_text(text, encoding="utf-8")
    before = snapshot(app)
    result = runner.invoke(args=["import-wxr", str(export)])
    assert result.exit_code == 1
    assert message in result.output and "Nothing was imported." in result.output
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wp:post_id", "99999999999999999999"),
        ("wp:post_id", "2147483648"),
        ("wp:comment_id", "9223372036854775808"),
        ("wp:post_id", "١٢"),  # Arabic-Indic digits are not an id
    ],
)
def test_out_of_range_ids_are_named_not_a_traceback(app, runner, tmp_path, field, value):
    text = LEGACY.read_text(encoding="utf-8")
    tag = field.split(":")[1]
    text = text.replace(f"<{field}>1</{field}>", f"<{field}>{value}</{field}>", 1)
    text = text.replace(f"<{field}>401</{field}>", f"<{field}>{value}</{field}>", 1)
    export = tmp_path / "big-ids.xml"
    export.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import-wxr", str(export)])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "Traceback" not in result.output
    what = "comment id" if tag == "comment_id" else "wp:post_id"
    assert f"{what} {value}" in result.output or f"{what} {value!r}" in result.output
    assert "out of range" in result.output or "not a whole number" in result.output
    with app.app_context():
        assert db.session.scalar(select(Post).where(Post.wp_id == 402)) is not None


# 2. Every old address ----------------------------------------------------------------------

OLD_ADDRESSES = [
    ("/2024/03/05/night-shift-survival", "/posts/night-shift-survival"),
    ("/?p=201", "/posts/night-shift-survival"),
    ("/?p=208", "/posts/only-a-link"),
    ("/about", "/pages/about"),
    ("/about/team", "/pages/team"),
    ("/?page_id=202", "/pages/team"),
    ("/?p=203", "/pages/about"),
    ("/category/care", "/category/care"),
    ("/category/care/night-shifts/icu", "/category/icu"),
    ("/category/icu", "/category/icu"),
    ("/category/care/night-shifts", "/category/night-shifts"),
    ("/?cat=12", "/category/night-shifts"),
    ("/category/ethics", "/category/ethics"),
    ("/tag/rota", "/tag/rota"),
    ("/?tag=rota", "/tag/rota"),
    ("/author/ana-maria", "/author/ana-maria"),
    ("/?author=7", "/author/ana-maria"),
    ("/2024/03", "/archive/2024/3"),
    ("/2024/03/05", "/archive/2024/3"),
    ("/page/2", "/?page=2"),
    ("/category/care/page/2", "/category/care?page=2"),
    ("/feed", "/feed.xml"),
    ("/comments/feed", "/feed.xml"),
    ("/category/care/feed", "/category/care/feed.xml"),
    ("/2024/03/05/night-shift-survival/feed", "/posts/night-shift-survival/comments/feed.xml"),
    ("/?s=night+shift", "/search?q=night+shift"),
    ("/search/night%20shift", "/search?q=night+shift"),
    ("/?attachment_id=301", None),
    ("/2024/03/05/night-shift-survival/ward", None),
    ("/wp-content/uploads/2024/03/ward.jpg", None),
    ("/wp-content/uploads/2024/03/ward-300x200.jpg", None),
]


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_old_address_answers_301_then_200(app, client, moved_in, slash):
    for old, new in OLD_ADDRESSES:
        path = old if "?" in old else old + slash
        if path.endswith("//"):
            continue
        response = client.get(path)
        if response.status_code == 200 and path == new:
            continue  # the same address here (a category without the slash)
        assert response.status_code == 301, (path, response.status_code)
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        if new is not None:
            assert location == new, (path, location)
        else:
            assert re.fullmatch(r"/uploads/[0-9a-f]{32}_[0-9]+(-a?w)?\.jpg", location), location
        if "page=2" not in location:  # the fixture has no second page of posts
            assert client.get(location).status_code == 200, (path, location)


def test_redirects_never_lead_to_a_draft_and_stop_when_a_post_is_unpublished(app, client, moved_in):
    assert client.get("/?p=204").status_code == 200  # a draft: the home page, no redirect
    assert "Draft thoughts" not in client.get("/?p=204").text
    assert client.get("/2024/03/06/shift-swaps/").status_code == 301
    with app.app_context():
        swap = db.session.scalar(select(Post).where(Post.wp_id == 205))
        swap.status = PostStatus.DRAFT
        db.session.commit()
    assert client.get("/2024/03/06/shift-swaps/").status_code == 404
    assert client.get("/?p=205").status_code == 200 and "Shift swaps" not in client.get("/").text


def test_addresses_of_other_sites_are_never_stored_and_nothing_points_off_site(
    app, client, moved_in
):
    assert client.get("/steal/").status_code == 404
    with app.app_context():
        paths = db.session.scalars(select(OldAddress.path)).all()
    assert all(p.startswith("/") and not p.startswith("//") for p in paths)
    assert not any("javascript" in p or "evil" in p for p in paths)
    for path in ("//evil.example/", "/%2F%2Fevil.example", "/?s=//evil.example", "/\\evil.example"):
        response = client.get(path)
        if response.status_code == 301:
            assert response.headers["Location"].startswith("/")
            assert not response.headers["Location"].startswith("//")


def test_old_addresses_only_answer_what_nothing_else_does(app, client, moved_in):
    """A stored address never hides a live page, and POST to one is not redirected."""
    assert client.get("/category/care").status_code == 200
    assert client.post("/2024/03/05/night-shift-survival/").status_code in (404, 405)
    assert client.get("/no/such/address/").status_code == 404


# 3. Media -----------------------------------------------------------------------------------


def test_media_goes_through_the_upload_pipeline_and_references_are_rewritten(app, client, moved_in):
    result, report = moved_in
    upload_dir = Path(app.config["UPLOAD_DIR"])
    with app.app_context():
        ward = db.session.scalar(select(WordPressMedia).where(WordPressMedia.wp_id == 301))
        assert ward.file == "2024/03/ward.jpg" and ward.alt == "A hospital ward at night"
        assert re.fullmatch(r"[0-9a-f]{32}_1200(-a?w)?\.jpg", ward.name)
    stored = Image.open(upload_dir / ward.name)
    assert not stored.getexif()  # re-encoded: no camera, no GPS
    smaller = f"{ward.name[:32]}_800.jpg"
    assert (upload_dir / smaller).exists()  # display size made
    body = post(app, 201).body_md
    assert "clinic.example/wp-content" not in body
    assert f'href="/uploads/{ward.name}"' in body  # the link to the full file
    assert f'src="/uploads/{smaller}"' in body  # -300x200 -> the 800 copy
    assert f"/uploads/{smaller} 300w, /uploads/{ward.name} 1200w" in body
    page = client.get("/posts/night-shift-survival").text
    assert f"/uploads/{smaller}" in page
    assert report["missing_media"] == ["2024/03/missing.jpg", "../secret.jpg"]
    assert report["skipped_because"]["attachment"] == {
        "file missing": 2,
        "not an image we accept": 1,
    }
    assert "2024/03/missing.jpg" in result.output
    assert {"post": "night-shift-survival", "title": "Night shift survival & sleep",
            "image": f"/uploads/{_png(app)}"} in report["images_without_alt"]  # fmt: skip


def _png(app) -> str:
    with app.app_context():
        return db.session.scalar(select(WordPressMedia.name).where(WordPressMedia.wp_id == 303))


def test_featured_image_becomes_the_cover_with_its_alt_text(app, client, moved_in):
    night = post(app, 201)
    assert night.cover_alt == "A hospital ward at night"
    with app.app_context():
        library = db.session.scalar(select(WordPressMedia.name).where(WordPressMedia.wp_id == 301))
    assert night.cover_image and night.cover_image != library  # its own copy
    assert client.get(f"/uploads/{night.cover_image}").status_code == 200


def test_a_file_outside_the_media_folder_is_never_read(app, moved_in):
    with app.app_context():
        assert db.session.scalar(select(WordPressMedia).where(WordPressMedia.wp_id == 304)) is None


def test_without_a_media_folder_attachments_are_counted_and_the_owner_told(app, runner):
    result = runner.invoke(args=["import-wxr", str(MOVE_IN)])
    assert result.exit_code == 0, result.output
    assert "5 attachments were not brought across" in result.output
    assert "attachment: 5 no --media folder given" in result.output


# 4. Block content -----------------------------------------------------------------------------


def test_block_content_reads_right(client, moved_in):
    page = client.get("/posts/night-shift-survival").text
    for expected in (
        "<p>First paragraph of the night.</p>",
        '<h2 id="before-the-shift">',
        "<li>Sleep in the afternoon</li>",
        "<blockquote>\n<p>Rest is part of the job.</p>\n</blockquote>",
        "<blockquote><p>Pulled quote text</p><cite>A charge nurse</cite></blockquote>",
        "<figcaption>The ward at night</figcaption>",
        "<table><thead><tr><th>Shift</th><th>Hours</th></tr></thead>",
        "<pre><code>rota --night</code></pre>",
        "<pre>Preformatted   spacing kept</pre>",
        "<hr>",
        '<p><a href="https://www.clinic.example/join/" rel="noopener">Join the co-op</a></p>',
        "<p>Left column text</p>",
        "<p>Grouped right column text</p>",
        'alt="Media beside text"',
        "<p>Text beside the media</p>",
        'alt="Cover picture"',
        "<p>Words over the cover</p>",
        "<details><summary>Show the checklist</summary>",
        "A claim that needs a source<sup>1</sup>",
        "<li>A study of night work</li>",
        "<p>Reusable reminder: wash your hands.</p>",
        "<p>Kept by acme</p>",
        "<p>Custom HTML stays</p>",
        "Split CDATA ]]&gt; survived.",
    ):
        assert expected in page, expected
    assert "wp:" not in page and "iframe" not in page and "video.example" not in page
    assert page.index("Cover picture") < page.index("Words over the cover")


def test_report_lists_what_the_sanitizer_removed_and_dynamic_blocks(moved_in):
    result, report = moved_in
    [changed] = [s for s in report["changed_by_sanitizer"] if s["wp_id"] == 201]
    assert changed["removed"] == {"<iframe>": 1, "src=": 1}
    assert "post 201: removed dynamic block latest-posts." in report["warnings"]
    assert "night-shift-survival: removed <iframe> x1, src= x1" in result.output
    assert {"from": "/?p=201", "to": "/posts/night-shift-survival"} in report["redirects"]
    assert "Old addresses that now redirect" in result.output


def test_category_tree_and_descriptions_come_across_as_safe_text(app, client, moved_in):
    with app.app_context():
        care = db.session.scalar(select(Category).where(Category.slug == "care"))
        assert "<script" not in care.description and "<b>" not in care.description
    page = client.get("/category/care").text
    assert "Everything about care" in page and "<script>alert" not in page


# Safe to run again, the same with workers ---------------------------------------------------


def test_running_the_move_in_again_changes_nothing(app, runner, moved_in, media_dir, tmp_path):
    before = snapshot(app)
    files = sorted(p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir())
    again = runner.invoke(args=["import-wxr", str(MOVE_IN), "--media", str(media_dir)])
    assert again.exit_code == 0, again.output
    assert snapshot(app) == before
    assert sorted(p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir()) == files
    assert "Old addresses that now redirect" not in again.output


def test_worker_processes_store_exactly_what_one_process_does(app, tmp_path):
    """The pool only moves the rendering elsewhere: every stored column is the same."""
    columns = (Post.wp_id, Post.body_md, Post.body_html, Post.body_text, Post.toc_json,
               Post.summary, Post.word_count)  # fmt: skip
    results = []
    for workers in (0, 1):
        with app.app_context():
            with MOVE_IN.open("rb") as handle:
                import_wxr(handle, workers=workers, upload_dir=str(tmp_path / "u"))
            rows = db.session.execute(select(*columns).order_by(Post.wp_id)).all()
            comments = db.session.execute(
                select(Comment.wp_id, Comment.body_html).order_by(Comment.wp_id)
            ).all()
            results.append((rows, comments))
            for table in ("old_addresses", "comments", "post_tags", "posts"):
                db.session.execute(db.metadata.tables[table].delete())
            db.session.commit()
    assert results[0] == results[1] and results[0][0]


def test_the_plain_text_shortcuts_give_exactly_what_wpautop_and_bleach_give(monkeypatch):
    """Comments without markup skip wpautop's regexes and bleach's parser; same bytes out."""
    rng = random.Random(16)
    alphabet = list(
        "ab c\n\n.!\"'=?é—🩺\u00a0\u200b\u0085\x7f\x01&<>www.x.com@:/-_\ufeff\u2028\x0c"
    )
    samples = ["Plain.\n\nTwo paragraphs.", "Line\nbreak", "http://x.example", "a < b & c"]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(1000)
    ]
    fast = [markup.render_comment_html(content.comment_html(s)) for s in samples]
    autop = [content.comment_html(s) for s in samples]
    monkeypatch.setattr(content, "_PLAIN_UNSAFE", re.compile(r"(?s:.)|^$"))
    monkeypatch.setattr(markup, "_PLAIN_TEXT", re.compile(r"(?!)"))
    assert [content.comment_html(s) for s in samples] == autop
    assert [markup.render_comment_html(content.comment_html(s)) for s in samples] == fast


ODD_ADDRESSES = [
    "/9999/01/", "/1899/01/01/", "/2024/13/", "/search/%00x", "/%00/feed/", "/page/99999999/",
    "/category//feed/", "/wp-content/uploads/", "/wp-content/uploads/../../etc/passwd",
    "/?m=999912", "/?s=" + "x" * 300, "/?p=%00", "/?cat=①", "/?author=99999999999999999999",
    "/?p=²", "/?attachment_id=-1", "/search/" + "y" * 600 + "/", "/" + "z/" * 400,
    "/tag/%E2%80%AE/", "/?feed=rss2", "/?tag=%0d%0aSet-Cookie:x",
]  # fmt: skip


empty_site = helpers.empty_site_fixture("oldpaths")


@pytest.mark.parametrize("path", ODD_ADDRESSES)
def test_odd_old_addresses_never_give_a_server_error(empty_site, path):
    response = empty_site.test_client().get(path)
    assert response.status_code < 500, path
    if response.status_code == 301:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")
        assert "\r" not in location and "\n" not in location
