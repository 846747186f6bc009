"""What a page tells search engines and previews: title, description, canonical, OG, JSON-LD."""

import json
import re

from tests.builders import make_category, make_post, make_user

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def meta(html: str, key: str) -> list[str]:
    """Contents of <meta name|property=key>, as the browser reads them."""
    import html as html_lib

    pattern = rf'<meta (?:name|property)="{re.escape(key)}" content="([^"]*)">'
    return [html_lib.unescape(value) for value in re.findall(pattern, html)]


def head(response) -> str:
    assert response.status_code == 200
    return response.text.split("</head>")[0]


def test_post_page_has_title_description_canonical_and_previews(client, ctx):
    author = make_user(username="ana", role="author", display_name="Ana Diaz")
    news = make_category("News")
    post = make_post(
        author,
        title="Staffing & safety",
        excerpt="What the new ratios mean.",
        category=news,
        tags=["Ratios"],
        cover_image="cover123.jpg",
        cover_alt="Two nurses at a station",
    )
    html = head(client.get(f"/posts/{post.slug}"))
    assert "<title>Staffing &amp; safety — The AlliedUP Co-op Blog</title>" in html
    assert meta(html, "description") == ["What the new ratios mean."]
    assert f'<link rel="canonical" href="http://localhost/posts/{post.slug}">' in html
    assert meta(html, "og:type") == ["article"]
    assert meta(html, "og:title") == ["Staffing & safety"]
    assert meta(html, "og:image") == ["http://localhost/uploads/cover123.jpg"]
    assert meta(html, "og:image:alt") == ["Two nurses at a station"]
    assert meta(html, "twitter:card") == ["summary_large_image"]
    assert meta(html, "twitter:image") == ["http://localhost/uploads/cover123.jpg"]
    assert meta(html, "article:section") == ["News"]
    assert f'href="/posts/{post.slug}/comments/feed.xml"' in html
    assert meta(html, "robots") == []


def test_post_without_cover_gets_a_summary_card_and_its_first_paragraph(client, ctx):
    post = make_post(title="Plain", body="First paragraph here.\n\nSecond one.")
    html = head(client.get(f"/posts/{post.slug}"))
    assert meta(html, "description") == ["First paragraph here."]
    assert meta(html, "twitter:card") == ["summary"]
    assert meta(html, "og:image") == []


def test_json_ld_blog_posting(client, ctx):
    author = make_user(username="ana", role="author", display_name="Ana Diaz")
    post = make_post(
        author,
        title="Ratios explained",
        excerpt="Short.",
        cover_image="c.png",
    )
    blocks = JSON_LD.findall(client.get(f"/posts/{post.slug}").text)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@context"] == "https://schema.org" and data["@type"] == "BlogPosting"
    assert data["headline"] == "Ratios explained"
    assert data["datePublished"] == post.published_at.isoformat()
    assert data["dateModified"] >= data["datePublished"]
    assert data["author"] == {
        "@type": "Person",
        "name": "Ana Diaz",
        "url": "http://localhost/author/ana",
    }
    assert data["image"] == "http://localhost/uploads/c.png"
    page = data["mainEntityOfPage"]
    assert page["@id"] == f"http://localhost/posts/{post.slug}"
    # reviewedBy and lastReviewed come from a recorded approval: tests/test_clinical_review.py


def test_json_ld_cannot_be_broken_out_of(client, ctx):
    post = make_post(title="</script><script>alert(1)</script><!--", excerpt="x</script>")
    text = client.get(f"/posts/{post.slug}").text
    block = JSON_LD.findall(text)[0]
    assert "<" not in block and ">" not in block
    assert json.loads(block)["headline"] == "</script><script>alert(1)</script><!--"
    assert "<script>alert(1)" not in text


def test_unreviewed_post_has_no_review_fields(client, ctx):
    post = make_post(title="Unreviewed")
    data = json.loads(JSON_LD.findall(client.get(f"/posts/{post.slug}").text)[0])
    assert "reviewedBy" not in data["mainEntityOfPage"] and "image" not in data


def test_home_and_archives_have_description_canonical_and_feed_links(client, ctx):
    news = make_category("News")
    make_post(title="One", category=news)
    html = head(client.get("/"))
    assert "<title>The AlliedUP Co-op Blog</title>" in html
    assert meta(html, "description") == ["Healthcare news, advice, updates, and more."]
    assert '<link rel="canonical" href="http://localhost/">' in html
    assert meta(html, "og:type") == ["website"]
    assert 'type="application/atom+xml"' in html
    assert "application/ld+json" not in html
    category = head(client.get("/category/news"))
    assert '<link rel="canonical" href="http://localhost/category/news">' in category


def test_canonical_keeps_page_number_and_drops_other_parameters(client, ctx):
    author = make_user(role="author")
    for n in range(11):
        make_post(author, title=f"Post {n}")
    assert '<link rel="canonical" href="http://localhost/?page=2">' in head(
        client.get("/?page=2&utm_source=x")
    )
    assert '<link rel="canonical" href="http://localhost/">' in head(client.get("/?utm_source=x"))


def test_standalone_page_has_its_own_metadata_and_no_blog_posting(client, ctx):
    page = make_post(title="About the co-op", excerpt="Who we are.", kind="page")
    html = head(client.get(f"/pages/{page.slug}"))
    assert meta(html, "description") == ["Who we are."]
    assert f'<link rel="canonical" href="http://localhost/pages/{page.slug}">' in html
    assert "application/ld+json" not in html


def test_auth_account_and_search_pages_are_noindex(client, ctx):
    for path in ("/auth/login", "/search?q=x"):
        response = client.get(path)
        assert '<meta name="robots" content="noindex">' in response.text, path
        assert response.headers.get("X-Robots-Tag") == "noindex", path
    author = make_user(username="authorname", role="author")
    make_post(author, title="Visible")
    response = client.get("/author/authorname")
    assert "noindex" not in response.text and "X-Robots-Tag" not in response.headers


def test_account_page_is_noindex(client, auth, ctx):
    make_user(username="mira")
    auth.login("mira")
    response = client.get("/account")
    assert response.status_code == 200
    assert '<meta name="robots" content="noindex">' in response.text
