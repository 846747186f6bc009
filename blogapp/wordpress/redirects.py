"""Every address the old WordPress site answered, answered here with a 301.

The importer stores each item's real old address (its ``<link>`` and ``<guid>``, and
``?p=ID``, ``?page_id=ID``, ``?attachment_id=ID``), and the archive addresses of the
categories, tags and authors it brought in, in ``old_addresses`` (one row per address,
pointing at a post, category, tag, author or image). The target is resolved when the
address is asked for: a post made a draft or deleted stops being redirected to, and every
Location is built here with ``url_for``, so none can point off-site.

WordPress's generic addresses need no rows: ``/feed/``, ``/comments/feed/``, ``/page/N/``,
``/YYYY/MM/``, ``/YYYY/MM/DD/``, ``/search/words/``, ``/?s=words``, ``/?feed=rss2`` and
``/?m=YYYYMM``; ``<address>/feed/`` and ``<address>/page/N/`` of any stored address are its
feed and its page N. Only addresses nothing else here answers reach this module (the
404 handler and the home page's query string), so an old address never hides a page.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import url_for
from sqlalchemy import select

from ..extensions import db
from ..inputs import EARLIEST, LATEST
from ..models import Category, OldAddress, Post, PostKind, Tag, User, WordPressMedia

MAX_PATH = 500  # the column's length; longer addresses are not stored (nor looked up)
# The query parameters that name one thing on a WordPress site, in the order they win.
ID_PARAMS = ("p", "page_id", "attachment_id", "cat", "tag", "author")
UPLOADS = "/wp-content/uploads/"
_PAGED = re.compile(r"^(?P<base>.*?)/page/(?P<page>[0-9]{1,5})$")
_FEED = re.compile(r"^(?P<base>.*?)/(?:feed(?:/(?:rss2?|atom|rdf))?|rss2?|atom)$")
_DATE = re.compile(r"^/(?P<year>[0-9]{4})/(?P<month>[0-9]{1,2})(?:/(?P<day>[0-9]{1,2}))?$")
_MONTH_QUERY = re.compile(r"^(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?:[0-9]{2})?$")
# WordPress's resized copies: team-300x200.jpg is a size of team.jpg.
_SIZE_SUFFIX = re.compile(r"-[0-9]{1,5}x[0-9]{1,5}(?=\.[A-Za-z0-9]{1,5}$)")


def normalize(path: str) -> str | None:
    """A path as stored and looked up: decoded, lower-case, no trailing slash ('/' stays)."""
    path = unquote(path or "/").strip().lower()
    if not path.startswith("/"):
        path = "/" + path
    path = re.sub(r"/{2,}", "/", path)
    path = path.rstrip("/") or "/"
    return path if len(path) <= MAX_PATH and not any(c in path for c in "\r\n\x00") else None


def key(path: str, args) -> str | None:
    """The stored key for a path and its query: '/2023/04/05/hello' or '/?p=12'."""
    base = normalize(path)
    if base is None:
        return None
    for name in ID_PARAMS:
        value = (args.get(name) or "").strip().lower()
        if value:
            joined = f"{base if base != '/' else ''}/?{name}={unquote(value)}"
            return joined if len(joined) <= MAX_PATH else None
    return base


def old_key(url: str, hosts: set[str]) -> str | None:
    """The key of an old site's URL (an item's link or guid), if it was on that site."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if hosts and host.removeprefix("www.") not in hosts:
        return None  # another site's address was never one of ours
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    return key(parts.path, query)


def upload_file(url_or_path: str) -> str | None:
    """'2023/04/team.jpg' from any URL or path under wp-content/uploads (sizes removed)."""
    path = unquote(urlsplit(url_or_path.strip()).path)
    index = path.lower().find(UPLOADS)
    if index == -1:
        return None
    return _SIZE_SUFFIX.sub("", path[index + len(UPLOADS) :]).lower() or None


# Resolving, at request time -------------------------------------------------------------


def for_missing_path(path: str) -> str | None:
    """Where a GET for a path nothing here answers should go, if it is an old address."""
    base = normalize(path)
    if base is None or base == "/":
        return None
    if base.startswith(UPLOADS):
        return _media(upload_file(base))
    page = None
    if match := _PAGED.match(base):
        base, page = match["base"] or "/", int(match["page"])
    feed = False
    if match := _FEED.match(base):
        base, feed = match["base"] or "/", True
    if base == "/" or (base == "/comments" and feed):
        if feed:
            return url_for("discovery.feed")
        return url_for("posts.index", page=page) if page else None
    if base.startswith("/search/") and not feed:
        return url_for("discovery.search", q=base[len("/search/") :].replace("+", " "))
    row = db.session.scalar(select(OldAddress).where(OldAddress.path == base))
    if row is not None:
        return _target(row, feed=feed, page=page)
    if (match := _DATE.match(base)) and not feed:
        return _archive(int(match["year"]), int(match["month"]), page)
    return None


def for_home_query(args) -> str | None:
    """Where the home page asked with WordPress's query string (/?p=12, /?s=x) should go."""
    lookup = key("/", args)
    if lookup and lookup != "/":
        row = db.session.scalar(select(OldAddress).where(OldAddress.path == lookup))
        return _target(row, feed=bool(args.get("feed"))) if row is not None else None
    if (words := (args.get("s") or "").strip()) and len(words) <= 200:
        return url_for("discovery.search", q=words)
    if args.get("feed"):
        return url_for("discovery.feed")
    if match := _MONTH_QUERY.match(args.get("m") or ""):
        return _archive(int(match["year"]), int(match["month"]), None)
    return None


def _target(row: OldAddress, feed: bool = False, page: int | None = None) -> str | None:
    if row.post_id is not None:
        post = db.session.get(Post, row.post_id)
        if post is None or not post.is_visible():
            return None  # never to a draft: unpublishing stops the redirect
        if feed and post.kind == PostKind.POST:
            return url_for("discovery.comments_feed", slug=post.slug)
        return address(post)
    paged = {"page": page} if page and page > 1 else {}
    if row.category_id is not None:
        category = db.session.get(Category, row.category_id)
        if feed:
            return url_for("discovery.category_feed", slug=category.slug)
        return url_for("posts.category", slug=category.slug, **paged)
    if row.tag_id is not None:
        return url_for("posts.tag", slug=db.session.get(Tag, row.tag_id).slug, **paged)
    if row.user_id is not None:
        if feed:
            return url_for("discovery.feed")
        user = db.session.get(User, row.user_id)
        return url_for("posts.author", username=user.username, **paged)
    if row.media_id is not None:
        return _upload_url(db.session.get(WordPressMedia, row.media_id))
    return None


def _media(file: str | None) -> str | None:
    if not file:
        return None
    media = db.session.scalar(select(WordPressMedia).where(WordPressMedia.file == file))
    return _upload_url(media) if media is not None else None


def _upload_url(media: WordPressMedia | None) -> str | None:
    return url_for("posts.upload", name=media.name) if media is not None else None


def _archive(year: int, month: int, page: int | None) -> str | None:
    if not (1 <= month <= 12 and EARLIEST.year <= year <= LATEST.year):
        return None  # the archive's own range (inputs.py): outside it there is no page
    return url_for("posts.archive", year=year, month=month, **({"page": page} if page else {}))


def address(post: Post) -> str:
    endpoint = "posts.page" if post.kind == PostKind.PAGE else "posts.detail"
    return url_for(endpoint, slug=post.slug)
