"""Atom feeds: site, category and a post's comments; valid, escaped, visible posts only."""

from datetime import timedelta

import feedparser

from blogapp.extensions import db
from blogapp.models import CommentStatus, PostStatus, utcnow
from blogapp.posts import services as post_services
from tests.builders import make_category, make_comment, make_post, make_user


def parse(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_site_feed_is_valid_atom_with_full_entries(client, ctx):
    author = make_user(username="ruth", role="author", display_name="Ruth Okafor")
    news = make_category("News")
    post = make_post(
        author,
        title="Pay & conditions <update>",
        category=news,
        tags=["Pay"],
        body="## Heading\n\nFull **body** text with a [link](https://example.org).",
        excerpt="Our members voted.",
    )
    feed = parse(client.get("/feed.xml"))
    assert feed.feed.title == "The AlliedUP Co-op Blog"
    assert feed.feed.id.startswith("tag:localhost,2024:")
    assert any(
        link.rel == "self" and link.href == "http://localhost/feed.xml" for link in feed.feed.links
    )
    entry = feed.entries[0]
    assert entry.title == "Pay & conditions <update>"
    assert entry.id == f"tag:localhost,2024:post:{post.id}"
    assert entry.link == f"http://localhost/posts/{post.slug}"
    assert entry.author == "Ruth Okafor"
    assert entry.summary == "Our members voted."
    assert "<strong>body</strong>" in entry.content[0].value
    assert entry.content[0].type == "text/html"
    assert {tag.term for tag in entry.tags} == {"news", "pay"}
    assert entry.published_parsed[:6] == post.published_at.utctimetuple()[:6]
    assert entry.updated_parsed is not None and feed.feed.updated_parsed is not None


def test_feed_ids_survive_slug_changes(client, ctx):
    post = make_post(title="First title")
    before = parse(client.get("/feed.xml")).entries[0].id
    post.title, post.slug = "Second title", post_services.unique_slug("Second title", post.id)
    db.session.commit()
    entry = parse(client.get("/feed.xml")).entries[0]
    assert entry.id == before
    assert entry.link.endswith("/posts/second-title")


def test_feed_has_visible_posts_only_newest_twenty(client, ctx):
    author = make_user(role="author")
    for n in range(22):
        make_post(author, title=f"Post {n}", published_ago=timedelta(hours=n + 2))
    make_post(author, title="Draft post", status=PostStatus.DRAFT)
    make_post(author, title="A standalone page", kind="page")
    future = make_post(
        author,
        title="Scheduled post",
        status=PostStatus.SCHEDULED,
        published_ago=timedelta(hours=-1),
    )
    titles = [entry.title for entry in parse(client.get("/feed.xml")).entries]
    assert len(titles) == 20
    assert titles[0] == "Post 0" and titles[-1] == "Post 19"
    assert "Draft post" not in titles and "A standalone page" not in titles
    assert "Scheduled post" not in titles
    # Its time comes: it appears, newest, with no job having run.
    future.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert parse(client.get("/feed.xml")).entries[0].title == "Scheduled post"


def test_category_feed_has_only_that_category(client, ctx):
    news, advice = make_category("News"), make_category("Advice")
    make_post(title="In the news", category=news)
    make_post(title="Some advice", category=advice)
    feed = parse(client.get("/category/advice/feed.xml"))
    assert [entry.title for entry in feed.entries] == ["Some advice"]
    assert "Advice" in feed.feed.title
    assert client.get("/category/nope/feed.xml").status_code == 404


def test_empty_feed_is_still_valid(client, ctx):
    assert parse(client.get("/feed.xml")).entries == []


def test_control_characters_never_break_the_xml(client, ctx):
    make_post(title="Odd\x0b title\x1f here", body="Body\x0c text")
    entry = parse(client.get("/feed.xml")).entries[0]
    assert entry.title == "Odd title here"


def test_pages_announce_their_feeds(client, ctx):
    make_category("News")
    response = client.get("/")
    link = '<link rel="alternate" type="application/atom+xml" title="The AlliedUP Co-op Blog"'
    assert f'{link} href="/feed.xml">' in response.text


def test_post_comment_feed_has_approved_comments_only(client, ctx):
    post = make_post(title="Discussion")
    member = make_user(display_name="Member Mo")
    earlier = utcnow() - timedelta(minutes=5)
    make_comment(post, "Approved & shown", user=member, created_at=earlier)
    make_comment(post, "Also approved", guest_name="Guest Gail", guest_email="gail@example.org")
    make_comment(post, "Waiting", CommentStatus.PENDING, guest_name="Held Hal")
    make_comment(post, "Buy", CommentStatus.SPAM, guest_name="Spammer")
    response = client.get(f"/posts/{post.slug}/comments/feed.xml")
    feed = parse(response)
    assert [entry.author for entry in feed.entries] == ["Guest Gail", "Member Mo"]
    assert feed.entries[1].content[0].value == "<p>Approved &amp; shown</p>"
    assert feed.entries[0].link.startswith(f"http://localhost/posts/{post.slug}#comment-")
    assert "gail@example.org" not in response.text
    assert "Waiting" not in response.text and "Buy" not in response.text


def test_comment_feed_of_a_draft_is_not_found(client, ctx):
    draft = make_post(title="Not yet", status=PostStatus.DRAFT)
    assert client.get(f"/posts/{draft.slug}/comments/feed.xml").status_code == 404
    assert client.get("/posts/missing/comments/feed.xml").status_code == 404
