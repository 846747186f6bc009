"""The reader's side as a publication (issue 22): identity, the home page's lead, the end of
an article (share, author, related, previous/next), image sizes, the accessibility page."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from blogapp import uploads
from blogapp.markup import render_description
from blogapp.models import PostStatus
from tests.builders import make_category, make_post, make_user
from tests.test_query_counts import counting

CSS = Path(__file__).parent.parent / "blogapp" / "static" / "css" / "site.css"


def stored_image(app, size=(1600, 900)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (11, 97, 87)).save(buffer, "JPEG")
    buffer.seek(0)
    return uploads.save_image(buffer, app.config["UPLOAD_DIR"], 5_000_000)


def section(html: str, css_class: str) -> str:
    """The HTML of the first element with this class, to its own closing tag."""
    match = re.search(rf'<(\w+) class="{css_class}"[^>]*>', html)
    assert match, css_class
    tag, depth = match.group(1), 0
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[match.start() :]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return html[match.start() : match.start() + found.end()]
    raise AssertionError(f"{css_class} is never closed")


# -- the palette: WCAG AA in both themes, for every state a colour is used in ------------


def palettes() -> dict[str, dict[str, str]]:
    text = CSS.read_text()
    light = re.search(r":root \{(.*?)\n\}", text, re.S).group(1)
    dark = re.search(r"@media \(prefers-color-scheme: dark\) \{.*?:root \{(.*?)\n  \}", text, re.S)
    found = {}
    for name, block in (("light", light), ("dark", dark.group(1))):
        found[name] = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))
    return found


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT_ON = {  # text colour: the backgrounds it is shown on (normal size: 4.5:1)
    "ink": ["paper", "wash", "raised", "ok-bg", "warn-bg", "bad-bg", "mark-bg", "target-bg"],
    "muted": ["paper", "wash", "raised", "target-bg", "warn-bg"],
    "brand": ["paper", "wash", "raised", "warn-bg", "target-bg", "ok-bg"],  # links
    "brand-dark": ["paper", "wash"],  # links when hovered
    "on-fill": ["fill", "fill-hover"],  # buttons, and hovered buttons
    "accent": ["paper", "wash"],
    "error": ["paper", "bad-bg"],
    "warn-ink": ["warn-bg"],
    "paper": ["error", "bad-hover"],  # "danger" buttons, and hovered
}
EDGES_ON = {"focus": ["paper", "wash"], "field-line": ["paper", "field-bg"]}  # 3:1


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_palette_passes_wcag_aa_in_every_state(theme):
    colours = palettes()[theme]
    too_low = [
        (fg, bg, round(contrast(colours[fg], colours[bg]), 2))
        for table, least in ((TEXT_ON, 4.5), (EDGES_ON, 3))
        for fg, backgrounds in table.items()
        for bg in backgrounds
        if contrast(colours[fg], colours[bg]) < least
    ]
    assert too_low == []


def test_dark_theme_defines_every_colour_the_light_one_does():
    light, dark = palettes()["light"], palettes()["dark"]
    assert set(light) - set(dark) == set()
    assert light["paper"] != dark["paper"]


def test_type_comes_from_system_stacks_not_a_font_service():
    text = CSS.read_text()
    assert "--serif:" in text and "--sans:" in text
    assert "@import" not in text and "fonts.googleapis" not in text and "url(http" not in text


# -- identity: the wordmark, or an uploaded logo ------------------------------------------


def test_header_shows_the_wordmark_with_the_site_name(client, ctx):
    html = client.get("/").text
    wordmark = section(html, "wordmark")
    assert '<svg class="wordmark-mark"' in wordmark and 'aria-hidden="true"' in wordmark
    assert "The AlliedUP Co-op Blog" in wordmark and 'href="/"' in wordmark


def test_an_uploaded_logo_replaces_the_mark(app, client, ctx):
    name = stored_image(app, size=(400, 120))
    app.config["BLOG_LOGO"] = name
    wordmark = section(client.get("/").text, "wordmark")
    assert f'src="/uploads/{name}"' in wordmark and 'width="400" height="120"' in wordmark
    assert "<svg" not in wordmark and "The AlliedUP Co-op Blog" in wordmark


@pytest.mark.parametrize("name", ["", "../../etc/passwd", "logo.svg", "x" * 5000, "<script>"])
def test_a_logo_setting_that_is_not_an_upload_falls_back_to_the_mark(app, client, ctx, name):
    app.config["BLOG_LOGO"] = name
    response = client.get("/")
    assert response.status_code == 200
    assert '<svg class="wordmark-mark"' in response.text and "<script>" not in response.text


# -- the home page's lead and the cards ---------------------------------------------------


def test_home_opens_with_the_newest_post_as_lead_with_its_cover(app, client, ctx):
    author = make_user(role="author")
    make_post(author, title="Older story", published_ago=timedelta(days=2),
              cover_image=stored_image(app), cover_alt="An older cover")  # fmt: skip
    make_post(author, title="Newest story", published_ago=timedelta(hours=1),
              cover_image=stored_image(app), cover_alt="The newest cover")  # fmt: skip
    html = client.get("/").text
    lead = section(html, "lead")
    assert "Newest story" in lead and "Older story" not in lead
    lead_image = re.search(r"<img[^>]*>", lead).group(0)
    assert 'alt="The newest cover"' in lead_image
    assert 'width="1600" height="900"' in lead_image  # no layout shift as it loads
    assert 'fetchpriority="high"' in lead_image and "lazy" not in lead_image
    cards = section(html, "card-grid")
    card_image = re.search(r"<img[^>]*>", cards).group(0)
    assert "Older story" in cards and 'loading="lazy"' in card_image
    assert 'width="1600" height="900"' in card_image


def test_a_sticky_post_leads_and_is_not_repeated_among_the_cards(client, ctx):
    author = make_user(role="author")
    make_post(author, title="Pinned notice", published_ago=timedelta(days=30), sticky=True)
    make_post(author, title="Fresh news", published_ago=timedelta(hours=1))
    html = client.get("/").text
    assert "Pinned notice" in section(html, "lead")
    assert "Pinned notice" not in section(html, "card-grid")
    assert "Fresh news" in section(html, "card-grid")


def test_only_the_first_page_has_a_lead(client, ctx):
    author = make_user(role="author")
    for n in range(12):
        make_post(author, title=f"Story {n:02d}", published_ago=timedelta(hours=n + 1))
    assert 'class="lead"' in client.get("/").text
    second = client.get("/?page=2").text
    assert 'class="lead"' not in second and '<h1 class="page-title">Latest posts</h1>' in second


def test_an_empty_blog_says_so_without_a_lead(client, ctx):
    html = client.get("/").text
    assert "No posts yet." in html and 'class="lead"' not in html


def test_category_page_shows_its_description_above_the_cards(client, ctx):
    category = make_category("Advice")
    category.description = "Practical advice for **people in care**."
    category.description_html = render_description(category.description)
    make_post(title="Hydration", category=category)
    html = client.get("/category/advice").text
    description = section(html, "archive-description")
    assert "<strong>people in care</strong>" in description
    assert html.index("archive-description") < html.index("card-grid")


# -- the end of an article -----------------------------------------------------------------


@pytest.fixture
def related_blog(ctx):
    """A post and its neighbours in category and tags (see each title)."""
    advice, news = make_category("Advice"), make_category("News")
    author = make_user(role="author", display_name="Ana Author", bio="Nurse and writer.")
    days = iter(range(1, 50))

    def post(title, category=None, tags=(), **fields):
        return make_post(author, title=title, category=category, tags=list(tags),
                         published_ago=timedelta(days=next(days)), **fields)  # fmt: skip

    posts = {
        "it": post("The post itself", advice, ["hydration", "shifts"]),
        "best": post("Same category and a tag", advice, ["hydration"]),
        "tags": post("Other category, both tags", news, ["hydration", "shifts"]),
        "category": post("Same category only", advice),
        "unrelated": post("Nothing in common", news, ["budget"]),
        "fourth": post("Same category, older", advice),
    }
    post("A draft sharing everything", advice, ["hydration", "shifts"], status=PostStatus.DRAFT)
    make_post(author, title="Scheduled sharing everything", category=advice,
              tags=["hydration", "shifts"], status=PostStatus.SCHEDULED,
              published_ago=timedelta(days=-3))  # fmt: skip
    return posts


def test_related_posts_share_category_and_tags_best_first_at_most_three(client, related_blog):
    html = client.get(f"/posts/{related_blog['it'].slug}").text
    related = section(html, "related")
    titles = re.findall(r'class="related-link"[^>]*>([^<]+)<', related)
    assert titles == ["Same category and a tag", "Other category, both tags", "Same category only"]


def test_a_post_sharing_nothing_has_no_related_section(client, ctx):
    lonely = make_post(title="Alone here")
    assert 'class="related"' not in client.get(f"/posts/{lonely.slug}").text


def test_related_posts_come_inside_the_cached_page_and_follow_new_posts(cached_app):
    client = cached_app.test_client()
    with cached_app.app_context():
        advice = make_category("Advice")
        post = make_post(title="Cached post", category=advice)
        slug = post.slug
    assert 'class="related"' not in client.get(f"/posts/{slug}").text
    with counting(cached_app) as statements:
        hit = client.get(f"/posts/{slug}")
    assert hit.headers["X-Page-Cache"] == "hit" and statements == []  # no query at all
    with cached_app.app_context():
        make_post(title="A new neighbour", category=advice)
    assert "A new neighbour" in section(client.get(f"/posts/{slug}").text, "related")


def test_share_links_need_no_script_and_load_nothing_from_elsewhere(app, client, related_blog):
    post = related_blog["it"]
    html = client.get(f"/posts/{post.slug}").text
    share = section(html, "share")
    url = f"http://localhost/posts/{post.slug}"
    assert f'href="mailto:?subject={quote(post.title)}&amp;body=' in share
    assert quote(url, safe="/") in share
    for host in ("www.linkedin.com", "www.facebook.com", "bsky.app", "x.com", "wa.me"):
        assert f'href="https://{host}/' in share
    # "Copy link" needs JavaScript: without it the button stays hidden.
    assert '<li class="copy-link-item" hidden><button type="button" class="copy-link' in share
    # Nothing on the page is fetched from another site: scripts, styles, images, frames.
    loads = r'<(?:script|img|source|iframe|link)\b[^>]*\b(?:src|srcset|href)="([^"]+)"'
    fetched = re.findall(loads, html)
    assert fetched and all(u.startswith(("/", "http://localhost/")) for u in fetched), fetched


def test_share_links_escape_odd_titles(client, ctx):
    post = make_post(title='Care & "quotes" <b>bold</b> ünïcode')
    share = section(client.get(f"/posts/{post.slug}").text, "share")
    assert "<b>" not in share and "Care%20%26%20%22quotes%22" in share


def test_article_ends_with_author_box_then_related_then_previous_and_next(client, related_blog):
    html = client.get(f"/posts/{related_blog['best'].slug}").text
    author_box = section(html, "author-box")
    assert "Ana Author" in author_box and "Nurse and writer." in author_box
    assert 'rel="prev"' in html and 'rel="next"' in html
    order = [html.index(marker) for marker in
             ('class="post-body"', 'class="share"', 'class="author-box"', 'class="related"',
              'class="post-neighbours"', 'id="comments"')]  # fmt: skip
    assert order == sorted(order)


def test_contents_sit_in_the_article_grid_when_there_are_three_headings(client, ctx):
    post = make_post(title="Long read", body="## One\n\nA.\n\n## Two\n\nB.\n\n## Three\n\nC.")
    html = client.get(f"/posts/{post.slug}").text
    assert re.search(r'<main id="main" class="wrap reading has-toc"', html)
    short = make_post(title="Short read", body="Just words.")
    assert 'class="wrap reading"' in client.get(f"/posts/{short.slug}").text


# -- images are sized -------------------------------------------------------------------


def test_images_in_a_post_and_its_cover_carry_width_and_height(app, client, ctx):
    body_image = stored_image(app, size=(1200, 800))
    body = f"Intro.\n\n![A ward at night](/uploads/{body_image})\n"
    post = make_post(title="Pictures", body=body, cover_image=stored_image(app), cover_alt="Cover")
    html = client.get(f"/posts/{post.slug}").text
    body_img = re.search(r'<img[^>]*alt="A ward at night"[^>]*>', html).group(0)
    assert 'width="1200" height="800"' in body_img
    cover_img = re.search(r'<img class="cover"[^>]*>', html).group(0)
    assert 'width="1600" height="900"' in cover_img and 'fetchpriority="high"' in cover_img


def test_an_upload_that_is_gone_is_shown_without_a_size_not_an_error(app, client, ctx):
    name = stored_image(app)
    for file in uploads.file_names(name):
        Path(app.config["UPLOAD_DIR"], file).unlink(missing_ok=True)
    post = make_post(title="Lost cover", cover_image=name, cover_alt="Gone")
    response = client.get(f"/posts/{post.slug}")
    assert response.status_code == 200
    assert "width=" not in re.search(r'<img class="cover"[^>]*>', response.text).group(0)


# -- the accessibility statement in the demo -------------------------------------------------


def test_seed_demo_adds_the_accessibility_statement_once(app, runner, client):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    page = client.get("/pages/accessibility")
    assert page.status_code == 200
    text = page.text
    assert "WCAG" in text and "2.2" in text and "level AA" in text  # the standard
    assert "axe-core" in text and "Lighthouse" in text  # how it is tested
    assert 'href="mailto:accessibility@alliedup.example"' in text  # how to report
    footer = client.get("/").text.split("<footer", 1)[1]
    assert 'href="/pages/accessibility"' in footer
    assert text.count("<h1") == 1


# -- the logo, chosen by an admin from the media library -------------------------------------


@pytest.fixture
def admin_client(app, client):
    """A signed-in admin (no app context held open: each request gets its own, as live)."""
    from tests.helpers import AuthActions

    with app.app_context():
        make_user("boss", role="admin")
    AuthActions(client).login("boss")
    return client


def library_image(app, owner_name: str = "boss") -> str:
    """An image in the media library (uploaded by owner_name), as /media stores it."""
    from sqlalchemy import select

    from blogapp.extensions import db
    from blogapp.models import MediaImage, User

    with app.app_context():
        owner = db.session.scalar(select(User).where(User.username == owner_name))
        name = stored_image(app, size=(400, 120))
        image = MediaImage(owner=owner, name=name, alt="Co-op logo", width=400, height=120)
        db.session.add(image)
        db.session.commit()
    return name


def settings_data(client, **changes) -> dict:
    from tests.test_site_settings import form_values

    return {**form_values(client), **changes}


def test_an_admin_chooses_an_uploaded_logo_in_site_settings(app, admin_client):
    name = library_image(app)
    page = admin_client.get("/admin/settings").text
    assert re.search(rf'<option value="{name}">Co-op logo \(400×120\)</option>', page)
    saved = admin_client.post("/admin/settings", data=settings_data(admin_client, logo=name))
    assert saved.status_code == 302
    wordmark = section(app.test_client().get("/").text, "wordmark")
    assert f'src="/uploads/{name}"' in wordmark and "<svg" not in wordmark
    # Back to the built-in emblem.
    admin_client.post("/admin/settings", data=settings_data(admin_client, logo=""))
    assert "<svg" in section(app.test_client().get("/").text, "wordmark")


@pytest.mark.parametrize("value", ["../../etc/passwd", "not-in-the-library.png", "<b>", "x" * 300])
def test_a_logo_that_is_not_in_the_media_library_is_refused(app, admin_client, value):
    response = admin_client.post("/admin/settings", data=settings_data(admin_client, logo=value))
    assert response.status_code == 400
    assert "Not a valid choice" in response.text and "<b>" not in response.text
    assert "<svg" in section(app.test_client().get("/").text, "wordmark")


def test_a_settings_form_without_the_logo_field_leaves_the_logo_alone(app, admin_client):
    name = library_image(app)
    admin_client.post("/admin/settings", data=settings_data(admin_client, logo=name))
    data = settings_data(admin_client, tagline="Changed")
    data.pop("logo", None)
    assert admin_client.post("/admin/settings", data=data).status_code == 302
    assert f'src="/uploads/{name}"' in app.test_client().get("/").text


def test_only_admins_change_the_logo(app, client):
    from tests.helpers import AuthActions, csrf_token

    with app.app_context():
        make_user("writer", role="author")
    AuthActions(client).login("writer")
    response = client.post("/admin/settings", data={"logo": "", "csrf_token": csrf_token(client)})
    assert response.status_code == 403
