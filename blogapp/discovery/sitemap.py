"""The sitemap and robots.txt: what search engines may crawl, and where everything is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..links import absolute_url_for
from ..models import Category, PostKind, Tag, User, post_tags
from ..posts.services import visible_posts

# Pages for people, not search engines: kept out by robots.txt and marked noindex.
# Trailing slashes matter: "/auth" would also match the public "/author/<name>" pages.
PRIVATE_PREFIXES = (
    "/admin/", "/account", "/auth/", "/dashboard", "/posts/new", "/comments/", "/reviews",
)  # fmt: skip
PRIVATE_PATTERNS = ("/posts/*/edit", "/posts/*/history")


@dataclass
class Url:
    loc: str
    lastmod: datetime | None = None


def sitemap_urls() -> list[Url]:
    """Home, every visible post and page, and each category, tag and author with posts."""
    posts = visible_posts().subquery()
    newest = func.max(posts.c.published_at)
    urls = [Url(absolute_url_for("posts.index"), db.session.scalar(select(newest)))]
    for kind, endpoint in ((PostKind.POST, "posts.detail"), (PostKind.PAGE, "posts.page")):
        visible = visible_posts(kind).subquery()
        rows = db.session.execute(
            select(visible.c.slug, visible.c.updated_at, visible.c.published_at)
        ).all()
        urls += [
            Url(absolute_url_for(endpoint, slug=slug), max(updated, published))
            for slug, updated, published in rows
        ]
    groups = (
        (
            select(Category.slug, newest)
            .join(posts, posts.c.category_id == Category.id)
            .group_by(Category.id, Category.slug),
            "posts.category",
            "slug",
        ),
        (
            select(Tag.slug, newest)
            .join(post_tags, post_tags.c.tag_id == Tag.id)
            .join(posts, posts.c.id == post_tags.c.post_id)
            .group_by(Tag.id, Tag.slug),
            "posts.tag",
            "slug",
        ),
        (
            select(User.username, newest)
            .join(posts, posts.c.author_id == User.id)
            .group_by(User.id, User.username),
            "posts.author",
            "username",
        ),
    )
    for query, endpoint, arg in groups:
        urls += [
            Url(absolute_url_for(endpoint, **{arg: key}), lastmod)
            for key, lastmod in db.session.execute(query.order_by(None))
        ]
    return urls


def robots_lines() -> list[str]:
    return [f"Disallow: {prefix}" for prefix in PRIVATE_PREFIXES + PRIVATE_PATTERNS]


def is_private(path: str) -> bool:
    """Account, auth, admin and authoring pages: noindex."""
    if path.startswith(PRIVATE_PREFIXES):
        return True
    return path.startswith("/posts/") and path.endswith(("/edit", "/history"))
