"""Jinja filters and globals: dates for people, site identity, navigation."""

from datetime import date, datetime
from functools import cache, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, get_flashed_messages, get_template_attribute, url_for
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from . import site_settings, uploads
from .cache import viewer_part
from .extensions import db
from .links import absolute_url_for
from .models import Category, Post, PostKind, PostStatus


def init_app(app: Flask) -> None:
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["email_breaks"] = email_breaks
    app.jinja_env.globals["site_nav"] = site_nav
    app.jinja_env.globals["absolute_url_for"] = absolute_url_for
    app.jinja_env.globals["staff_nav"] = staff_nav
    app.jinja_env.globals["site_logo"] = site_logo
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site_identity():
        settings = site_settings.current()
        return {
            "site_title": settings.title,
            "site_tagline": settings.tagline,
            "site_settings": settings,
        }


def email_breaks(address: str | None) -> Markup:
    """An address that may wrap after each "." and "@" (<wbr>), never inside a name part.

    Without these, a long address is one unbreakable word: its table column can't be
    narrower than it, and the rest of the table (the users page's actions) scrolls away.
    """
    # escape() first; Markup.replace keeps the rest escaped (only the literals are markup).
    return escape(address or "").replace(".", Markup(".<wbr>")).replace("@", Markup("@<wbr>"))


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


class Logo(NamedTuple):
    url: str
    width: int
    height: int


def site_logo() -> Logo | None:
    """The uploaded logo chosen in site settings (or BLOG_LOGO), when it is one of our stored
    images; None: the built-in mark (a name that isn't an upload, or a file that's gone,
    falls back to it)."""
    name = site_settings.current().logo
    size = uploads.dimensions(name, current_app.config["UPLOAD_DIR"]) if name else None
    if size is None:
        return None
    return Logo(url_for("posts.upload", name=name), *size)


class NavLink(NamedTuple):
    key: str  # "category:3" or "page:12": how site settings name it
    label: str
    url: str


def site_nav() -> dict:
    """The header's and footer's links (in the admin's order), loaded once per request.

    Also the full lists: "categories" (by name) and "pages" (published, by title).
    """
    if "site_nav" not in g:
        g.site_nav = {"categories": [], "pages": [], "header": [], "footer": []}
        if not g.get("database_down"):
            try:
                # Rows, not models: an error page after a rollback must not reload them.
                categories = db.session.execute(
                    select(Category.id, Category.name, Category.slug).order_by(Category.name)
                ).all()
                pages = db.session.execute(
                    select(Post.id, Post.title, Post.slug)
                    .where(Post.kind == PostKind.PAGE, Post.status == PostStatus.PUBLISHED)
                    .order_by(Post.title)
                ).all()
            except SQLAlchemyError:
                db.session.rollback()
            else:
                links = [
                    NavLink(f"category:{c.id}", c.name, url_for("posts.category", slug=c.slug))
                    for c in categories
                ] + [
                    NavLink(f"page:{p.id}", p.title, url_for("posts.page", slug=p.slug))
                    for p in pages
                ]
                settings = site_settings.current()
                g.site_nav = {
                    "categories": categories,
                    "pages": pages,
                    **{
                        place: settings.layout(place).arrange(
                            [(link.key, link) for link in links], kind
                        )
                        for place, kind in site_settings.NAV_PLACES.items()
                    },
                    "all_links": links,
                }
    return g.site_nav


class StaffLink(NamedTuple):
    label: str
    endpoint: str
    count: int | None = None  # shown beside the label (comments waiting)


def staff_nav() -> list[StaffLink]:
    """The signed-in person's staff links for the header; none for readers and members.

    Only signed-in pages carry these, and the page cache never stores or serves those
    (blogapp/cache/pages.py: a session with a user in it bypasses the cache both ways).
    """
    from flask_login import current_user

    from .comments import services as comment_services
    from .models import Role
    from .permissions import has_role

    if not has_role(current_user, Role.MEMBER):
        return []
    # Clinical reviewers may be plain members: their queue is their one staff link.
    reviews = [StaffLink("Reviews", "posts.reviews")] if current_user.is_reviewer else []
    if not has_role(current_user, Role.AUTHOR):
        return reviews
    links = reviews + [
        StaffLink("Write", "posts.new"),
        StaffLink("Dashboard", "posts.dashboard"),
        # Authors moderate their own posts' comments, editors and admins everyone's.
        StaffLink("Comments", "admin.comments", comment_services.pending_count(current_user)),
    ]
    if current_user.is_admin:
        links += [
            StaffLink("Users", "admin.users"),
            StaffLink("Categories", "admin.categories"),
            StaffLink("Settings", "admin.settings"),
            StaffLink("Audit log", "admin.audit"),
        ]
    return links


# -- the header's per-viewer parts (see blogapp/cache/shared.py) -----------------------


def part_macro(template: str, name: str):
    """A macro of a parts template, called with plain values (its module is made once)."""
    return get_template_attribute(template, name)


@viewer_part("staff_nav")
def staff_nav_part(endpoint: str | None = None) -> str:
    links = staff_nav()
    return part_macro("_viewer_parts.html", "staff_nav")(links, endpoint) if links else ""


def rendered_once(key: tuple, render) -> str:
    """A part's markup that differs between its viewers only in their CSRF token: rendered
    once per key (in this app), the viewer's token put in per request.

    A part without a form never asks for a token (that would start a session, and give a
    cookie, to a visitor who had none).
    """
    from flask_wtf.csrf import generate_csrf

    made = current_app.extensions.setdefault("rendered_parts", {})
    html = made.get(key)
    if html is None:
        html = str(render())
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if token and token in html:
            html = html.replace(token, _TOKEN_MARK)
        if len(made) > 2000:
            made.clear()
        made[key] = html
    if _TOKEN_MARK in html:
        # A rendered template, and a token that is URL-safe base64.
        return Markup(html.replace(_TOKEN_MARK, generate_csrf()))  # nosec B704
    return Markup(html)  # nosec B704 - a rendered template


_TOKEN_MARK = "\x00csrf-token\x00"  # nosec B105 - a placeholder for the token, not a secret


@viewer_part("account_nav")
def account_nav_part() -> str:
    from flask_login import current_user

    name = current_user.name if current_user.is_authenticated else None
    macro = part_macro("_viewer_parts.html", "account_nav")
    return rendered_once(("account_nav", name), lambda: macro(name))


@viewer_part("flashes")
def flashes_part() -> str:
    messages = get_flashed_messages(with_categories=True)
    return part_macro("_viewer_parts.html", "flashes")(messages) if messages else ""
