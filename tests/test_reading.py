"""Reading pages: home, post, archives, pages, pagination edges, odd paths."""

import re
from datetime import timedelta

import pytest

from blogapp.demo import read_article, seed_demo
from blogapp.models import PostKind, PostStatus
from tests import helpers
from tests.builders import make_category, make_post, make_user

SEED_SLUG = "empathy-in-action-fostering-patient-trust"


@pytest.fixture
def seeded(app):
    with app.app_context():
        seed_demo()


empty_site = helpers.empty_site_fixture("oddpaths")


def test_home_shows_seed_article(client, seeded):
    page = client.get("/").text
    assert "Empathy in Action: Fostering Patient Trust" in page
    assert "AlliedUP Co-op" in page  # the demo author
    assert "Advice" in page
    assert "min read" in page
    assert "0 comments" in page


def test_seed_article_word_for_word_with_heading_levels(client, seeded):
    page = client.get(f"/posts/{SEED_SLUG}").text
    _, body = read_article()
    for block in body.split("\n\n"):
        block = block.strip()
        if block.startswith("### "):
            assert re.search(rf"<h3 id=[^>]*><a [^>]*>{re.escape(block[4:])}</a></h3>", page)
        elif block.startswith("## "):
            assert re.search(rf"<h2 id=[^>]*><a [^>]*>{re.escape(block[3:])}</a></h2>", page)
        elif block:
            assert f"<p>{block}</p>" in page
    assert page.count("<h1") == 1
    body_html = page.split('<div class="post-body">')[1].split("</div>")[0]
    assert len(re.findall(r"<h2 id=", body_html)) == 2
    assert len(re.findall(r"<h3 id=", body_html)) == 4


def test_post_page_has_contents_anchors_and_tags(client, seeded):
    page = client.get(f"/posts/{SEED_SLUG}").text
    assert 'aria-labelledby="toc-title"' in page
    assert 'href="#communication-as-a-pillar-of-empathy"' in page
    assert 'id="communication-as-a-pillar-of-empathy"' in page
    assert 'href="/tag/patient-trust"' in page
    assert "2 min read" in page


def test_no_contents_for_fewer_than_three_headings(client, ctx):
    post = make_post(body="## One\n\ntext\n\n## Two\n\nmore")
    page = client.get(f"/posts/{post.slug}").text
    assert "toc-title" not in page


def test_seed_demo_is_idempotent(runner, client):
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert "Created" in first.output
    assert "already present" in second.output
    assert client.get("/").text.count("Empathy in Action") == 1


def test_previous_and_next_links(client, ctx):
    old = make_post(title="Older one", published_ago=timedelta(days=3))
    middle = make_post(title="Middle one", published_ago=timedelta(days=2))
    new = make_post(title="Newer one", published_ago=timedelta(days=1))
    page = client.get(f"/posts/{middle.slug}").text
    assert f'rel="prev" href="/posts/{old.slug}"' in page
    assert f'rel="next" href="/posts/{new.slug}"' in page


def test_an_old_free_text_review_line_is_shown_as_history(client, ctx):
    post = make_post(review_history_note="Reviewed by Dana Ruiz, RN, BSN on 2025-03-04")
    page = client.get(f"/posts/{post.slug}").text
    assert "Reviewed by Dana Ruiz, RN, BSN on 2025-03-04" in page
    assert "Medically reviewed" not in page


def test_drafts_and_future_posts_are_hidden(client, ctx):
    draft = make_post(title="Secret draft", status=PostStatus.DRAFT)
    later = make_post(
        title="Not yet", status=PostStatus.SCHEDULED, published_ago=timedelta(hours=-2)
    )
    due = make_post(
        title="Due now", status=PostStatus.SCHEDULED, published_ago=timedelta(minutes=1)
    )
    home = client.get("/").text
    assert "Secret draft" not in home and "Not yet" not in home
    assert "Due now" in home
    assert client.get(f"/posts/{draft.slug}").status_code == 404
    assert client.get(f"/posts/{later.slug}").status_code == 404
    assert client.get(f"/posts/{due.slug}").status_code == 200


def test_home_paginates_ten_a_page(client, ctx):
    author = make_user(role="author")
    for n in range(12):
        make_post(author, title=f"Story {n:02d}", published_ago=timedelta(hours=n + 1))
    first = client.get("/").text
    second = client.get("/?page=2").text
    assert first.count('class="post-card"') == 10
    assert second.count('class="post-card"') == 2
    assert "Story 00" in first and "Story 11" in second
    assert 'rel="next" href="/?page=2"' in first


@pytest.mark.parametrize(
    "path, status",
    [
        ("/?page=0", 404),
        ("/?page=-1", 404),
        ("/?page=abc", 200),
        ("/?page=99999", 404),
        ("/?page=9999999999999999999999", 404),
        ("/posts/no-such-post", 404),
        ("/category/nothing", 404),
        ("/tag/nothing", 404),
        ("/author/nobody", 404),
        ("/archive/2024/13", 404),
        ("/archive/2024/0", 404),
        ("/archive/99999/1", 404),
        ("/pages/nothing", 404),
        ("/posts/%00", 400),
        ("/posts/" + "a" * 5000, 404),
        ("/posts/%F0%9F%98%80", 404),
        ("/posts/%ff%fe", 404),
        ("/../../etc/passwd", 404),
        ("/uploads/../instance/secret_key", 404),
        ("/uploads/nothing.png", 404),
        ("/static/../blogapp/config.py", 404),
    ],
)
def test_odd_paths_never_500(empty_site, path, status):
    response = empty_site.test_client().get(path)
    assert response.status_code == status
    assert "The AlliedUP Co-op Blog" in response.text
    if status == 404:
        assert "Page not found" in response.text
        assert "The AlliedUP Co-op Blog" in response.text


def test_archives_list_matching_posts(client, ctx):
    news = make_category("News")
    writer = make_user(username="writer", role="author", display_name="Wren Writer")
    post = make_post(writer, title="Staffing update", category=news, tags=["Night shifts"])
    other = make_post(title="Unrelated")
    month = post.published_at
    for path in (
        "/category/news",
        "/tag/night-shifts",
        "/author/writer",
        "/author/WRITER",
        f"/archive/{month.year}/{month.month}",
    ):
        page = client.get(path).text
        assert "Staffing update" in page, path
    assert "Unrelated" not in client.get("/category/news").text
    assert "Unrelated" not in client.get("/tag/night-shifts").text
    assert other.title in client.get(f"/archive/{month.year}/{month.month}").text


def test_standalone_page_not_in_lists(client, ctx):
    page = make_post(title="About us", kind=PostKind.PAGE, body="We are a co-op.")
    assert "About us" not in client.get("/").text.split("<main")[1].split("</main>")[0]
    response = client.get(f"/pages/{page.slug}")
    assert response.status_code == 200 and "We are a co-op." in response.text
    assert client.get(f"/posts/{page.slug}").status_code == 404
    assert f'href="/pages/{page.slug}"' in client.get("/").text  # footer link


def test_footer_says_not_medical_advice(client):
    assert "Information, not medical advice." in client.get("/").text


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_when_database_is_gone(tmp_path):
    from blogapp import create_app
    from tests.helpers import test_config

    missing = tmp_path / "no-such-dir" / "blog.sqlite3"
    app = create_app(test_config(f"sqlite:///{missing}"))
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    page = client.get("/")
    assert page.status_code == 503
    assert "Temporarily unavailable" in page.text
