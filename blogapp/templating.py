"""Jinja filters and globals: dates for people, site identity, navigation."""

from datetime import date, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .links import absolute_url_for
from .models import Category, Post, PostKind, PostStatus


def init_app(app: Flask) -> None:
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.globals["site_nav"] = site_nav
    app.jinja_env.globals["absolute_url_for"] = absolute_url_for
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site_identity():
        return {
            "site_title": current_app.config["BLOG_TITLE"],
            "site_tagline": current_app.config["BLOG_TAGLINE"],
        }


def local(value: datetime) -> datetime:
    return value.astimezone(_zone(current_app.config["BLOG_TIMEZONE"]))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_date(value: datetime | date | None) -> str:
    """'March 4, 2026' in the site's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value)
    return f"{value:%B} {value.day}, {value.year}"


def format_datetime(value: datetime | None) -> str:
    """'March 4, 2026, 2:05 PM EST' in the site's time zone."""
    if value is None:
        return ""
    return _format_datetime(value, current_app.config["BLOG_TIMEZONE"])


# A thread page shows a time per comment, the same times on every view: remembering the
# last few thousand saves converting and formatting each again (it was a fifth of a thread).
@lru_cache(maxsize=4096)
def _format_datetime(value: datetime, zone: str) -> str:
    value = value.astimezone(_zone(zone))
    hour = value.hour % 12 or 12
    return f"{value:%B} {value.day}, {value.year}, {hour}:{value:%M %p %Z}"


def iso(value: datetime | date | None) -> str:
    if value is None:
        return ""
    # The zone is part of the key: equal instants in two zones are equal datetimes.
    return _iso(value, getattr(value, "tzinfo", None))


@lru_cache(maxsize=4096)  # as for _format_datetime: each comment's time, on every view
def _iso(value: datetime | date, zone) -> str:
    return value.isoformat()


def site_nav() -> dict:
    """Categories for the header and pages for the footer, loaded once per request."""
    if "site_nav" not in g:
        g.site_nav = {"categories": [], "pages": []}
        if not g.get("database_down"):
            try:
                g.site_nav = {
                    "categories": db.session.scalars(
                        select(Category).order_by(Category.name)
                    ).all(),
                    "pages": db.session.execute(
                        select(Post.title, Post.slug)
                        .where(Post.kind == PostKind.PAGE, Post.status == PostStatus.PUBLISHED)
                        .order_by(Post.title)
                    ).all(),
                }
            except SQLAlchemyError:
                db.session.rollback()
    return g.site_nav
