"""Atom feeds: the newest posts (all, or one category's) and a post's approved comments.

Entry ids are tag: URIs built from the database id, so they survive slug and title changes.
Only visible posts appear (posts.services.visible_posts: published, or scheduled whose
time has come).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import select

from .. import site_settings
from ..extensions import db
from ..links import absolute_url_for, site_host
from ..models import Category, Comment, CommentStatus, Post, utcnow
from ..posts.services import in_category, visible_posts

FEED_SIZE = 20
COMMENT_FEED_SIZE = 50
ATOM_MIMETYPE = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot carry at all, even escaped; dropped from the finished document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class Entry:
    id: str
    title: str
    url: str
    published: datetime
    updated: datetime
    author_name: str
    author_uri: str | None = None
    summary: str = ""
    content_html: str = ""
    categories: list[tuple[str, str, str]] = field(default_factory=list)  # term, label, scheme


def tag_uri(kind: str, object_id: int) -> str:
    """A stable Atom id: tag:<authority>,2024:<kind>:<id> (RFC 4151)."""
    authority = current_app.config.get("FEED_TAG_AUTHORITY") or site_host()
    return f"tag:{authority},2024:{kind}:{object_id}"


def site_feed() -> str:
    posts = db.session.scalars(visible_posts().limit(FEED_SIZE)).all()
    return _render(
        feed_id=tag_uri("feed", 0),
        title=site_settings.current().title,
        subtitle=site_settings.current().tagline,
        self_url=absolute_url_for("discovery.feed"),
        alternate_url=absolute_url_for("posts.index"),
        entries=[_post_entry(post) for post in posts],
    )


def category_feed(category: Category) -> str:
    posts = db.session.scalars(in_category(category).limit(FEED_SIZE)).all()
    return _render(
        feed_id=tag_uri("category", category.id),
        title=f"{category.name} — {site_settings.current().title}",
        subtitle=category.description or site_settings.current().tagline,
        self_url=absolute_url_for("discovery.category_feed", slug=category.slug),
        alternate_url=absolute_url_for("posts.category", slug=category.slug),
        entries=[_post_entry(post) for post in posts],
    )


def comments_feed(post: Post) -> str:
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.post_id == post.id, Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(COMMENT_FEED_SIZE)
    ).all()
    post_url = absolute_url_for("posts.detail", slug=post.slug)
    entries = [
        Entry(
            id=tag_uri("comment", comment.id),
            title=f"Comment by {comment.author_name or 'a reader'} on “{post.title}”",
            url=f"{post_url}#comment-{comment.id}",
            published=comment.created_at,
            updated=comment.edited_at or comment.created_at,
            author_name=comment.author_name or "a reader",
            content_html=comment.body_html,
        )
        for comment in comments
    ]
    return _render(
        feed_id=tag_uri("comments", post.id),
        title=f"Comments on “{post.title}” — {site_settings.current().title}",
        subtitle="",
        self_url=absolute_url_for("discovery.comments_feed", slug=post.slug),
        alternate_url=f"{post_url}#comments",
        entries=entries,
        fallback_updated=post.published_at,
    )


def _post_entry(post: Post) -> Entry:
    scheme = absolute_url_for("posts.index")
    categories = []
    if post.category is not None:
        categories.append((post.category.slug, post.category.name, scheme + "category/"))
    categories += [(tag.slug, tag.name, scheme + "tag/") for tag in post.tags]
    return Entry(
        id=tag_uri("post", post.id),
        title=post.title,
        url=absolute_url_for("posts.detail", slug=post.slug),
        published=post.published_at,
        updated=max(post.published_at, post.updated_at),
        author_name=post.author.name,
        author_uri=absolute_url_for("posts.author", username=post.author.username),
        summary=post.summary,
        content_html=post.body_html,
        categories=categories,
    )


def _render(entries: list[Entry], fallback_updated: datetime | None = None, **feed) -> str:
    updated = max((entry.updated for entry in entries), default=fallback_updated or utcnow())
    xml = render_template(
        "discovery/feed.xml",
        entries=entries,
        updated=updated,
        base_url=absolute_url_for("posts.index"),
        **feed,
    )
    return _NOT_XML.sub("", xml)
