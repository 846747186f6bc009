"""Which post an old WordPress link (/YYYY/MM/DD/slug/, /?p=ID, /?page_id=ID) names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import url_for
from sqlalchemy import or_, select

from ..extensions import db
from ..inputs import optional_int
from ..models import Post, PostKind


def post_for_permalink(year: int, month: int, day: int, slug: str) -> Post | None:
    """The visible imported post with this WordPress slug, published on (about) that day.

    WordPress dates permalinks in the site's time zone; we keep UTC, so a day either side
    is accepted. A slug that had to change on import is found by its WordPress name.
    """
    try:
        day_start = datetime(year, month, day, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    candidates = db.session.scalars(
        select(Post).where(
            Post.kind == PostKind.POST,
            or_(Post.wp_slug == slug, Post.slug == slug),
            Post.published_at >= day_start - timedelta(days=1),
            Post.published_at < day_start + timedelta(days=2),
        )
    ).all()
    candidates.sort(key=lambda post: post.wp_slug != slug)  # the WordPress name wins
    return next((post for post in candidates if post.is_visible()), None)


def post_for_id(wp_id: str | None) -> Post | None:
    """The visible imported post or page with this WordPress id (the ?p= and ?page_id= links)."""
    number = optional_int(wp_id)
    if number is None:
        return None
    post = db.session.scalar(select(Post).where(Post.wp_id == number))
    return post if post is not None and post.is_visible() else None


def address(post: Post) -> str:
    endpoint = "posts.page" if post.kind == PostKind.PAGE else "posts.detail"
    return url_for(endpoint, slug=post.slug)


def old_link_target(args) -> str | None:
    """Where a home-page request carrying ?p=ID or ?page_id=ID should go, if anywhere."""
    post = post_for_id(args.get("p") or args.get("page_id"))
    return address(post) if post else None
