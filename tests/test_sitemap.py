"""sitemap.xml lists what is public and visible; robots.txt names it and keeps private pages out."""

from datetime import timedelta
from xml.etree import ElementTree

from blogapp.extensions import db
from blogapp.models import PostStatus, utcnow
from tests.builders import make_category, make_post, make_user

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap(client) -> dict[str, str | None]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.data)
    return {
        url.findtext("s:loc", namespaces=NS): url.findtext("s:lastmod", namespaces=NS)
        for url in root.findall("s:url", NS)
    }


def test_sitemap_lists_posts_pages_categories_tags_and_authors(client, ctx):
    author = make_user(username="nadia", role="author")
    news = make_category("News")
    make_category("Empty")
    post = make_post(author, title="Hello members", category=news, tags=["Union News"])
    make_post(author, title="About us", kind="page")
    urls = sitemap(client)
    assert urls[f"http://localhost/posts/{post.slug}"].startswith(
        post.updated_at.date().isoformat()
    )
    assert "http://localhost/" in urls
    assert "http://localhost/pages/about-us" in urls
    assert "http://localhost/category/news" in urls
    assert "http://localhost/tag/union-news" in urls
    assert "http://localhost/author/nadia" in urls
    assert "http://localhost/category/empty" not in urls


def test_sitemap_leaves_out_drafts_scheduled_and_deleted_posts(client, ctx):
    author = make_user(username="silent", role="author")
    make_post(author, title="Draft thoughts", status=PostStatus.DRAFT, tags=["Hidden"])
    scheduled = make_post(
        author, title="Coming soon", status=PostStatus.SCHEDULED, published_ago=timedelta(hours=-3)
    )
    gone = make_post(make_user(role="author"), title="Deleted one")
    db.session.delete(gone)
    db.session.commit()
    urls = "\n".join(sitemap(client))
    assert "draft-thoughts" not in urls and "coming-soon" not in urls and "deleted-one" not in urls
    assert "/tag/hidden" not in urls and "/author/silent" not in urls
    scheduled.published_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "http://localhost/posts/coming-soon" in sitemap(client)
    assert "http://localhost/author/silent" in sitemap(client)


def test_robots_txt_names_the_sitemap_and_keeps_private_pages_out(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.text.splitlines()
    assert lines[0] == "User-agent: *"
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    for path in ("/admin/", "/account", "/auth/", "/dashboard", "/posts/*/edit"):
        assert f"Disallow: {path}" in lines
    # Public archives must stay crawlable: "/auth" alone would also block "/author/...".
    assert "Disallow: /auth" not in lines and "Disallow: /" not in lines
