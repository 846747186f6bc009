"""What a page tells search engines and link previews: canonical URL, robots, JSON-LD."""

from __future__ import annotations

import json

from flask import request
from markupsafe import Markup

from .. import site_settings
from ..inputs import page_number
from ..links import absolute_url_for, site_url
from ..models import Post
from .sitemap import is_private


def canonical_url() -> str:
    """This page's URL without query noise; a list's page number is kept past page 1."""
    url = site_url(request.path)
    page = request.args.get("page", 1, type=page_number)
    if request.endpoint != "discovery.search" and page > 1:
        url += f"?page={page}"
    return url


def noindex() -> bool:
    """Search results and private pages (account, auth, admin, authoring) stay out of indexes."""
    return request.endpoint == "discovery.search" or is_private(request.path)


def cover_url(post: Post) -> str | None:
    if not post.cover_image:
        return None
    return absolute_url_for("posts.upload", name=post.cover_image)


def _modified(post: Post):
    """When readers' text last changed: the live text's change, else publication."""
    published = post.published_at or post.updated_at
    return max(post.content_updated_at or published, published)


def post_jsonld(post: Post, review=None) -> Markup:
    """schema.org BlogPosting for a post, safe inside <script type="application/ld+json">.

    review: the post's ReaderFacts (posts/review.py) when it has been reviewed.
    """
    url = absolute_url_for("posts.detail", slug=post.slug)
    author = {
        "@type": "Person",
        "name": post.author.name,
        "url": absolute_url_for("posts.author", username=post.author.username),
    }
    data: dict = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title[:110],
        "description": post.summary,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": post.published_at.isoformat() if post.published_at else None,
        "dateModified": _modified(post).isoformat(),
        "author": author,
        "publisher": {
            "@type": "Organization",
            "name": site_settings.current().title,
            "url": absolute_url_for("posts.index"),
        },
        "wordCount": post.word_count,
    }
    if post.category is not None:
        data["articleSection"] = post.category.name
    if post.tags:
        data["keywords"] = [tag.name for tag in post.tags]
    image = cover_url(post)
    if image:
        data["image"] = image
    # schema.org puts medical review on the page (WebPage), which the post is the main entity of.
    approval = review.approval if review is not None else None
    if approval is not None:
        reviewer = {"@type": "Person", "name": approval.reviewer_name}
        if approval.credentials:
            reviewer["honorificSuffix"] = approval.credentials
            reviewer["hasCredential"] = approval.credentials
        if approval.reviewer is not None:
            reviewer["url"] = absolute_url_for("posts.author", username=approval.reviewer.username)
        data["mainEntityOfPage"]["reviewedBy"] = reviewer
        data["mainEntityOfPage"]["lastReviewed"] = approval.created_at.date().isoformat()
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    # "</script>" or "<!--" in a title must not end the block: escape <, > and & as JSON does.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # nosec B704 - json.dumps output with <, > and & escaped above
