"""A streaming reader for WordPress eXtended RSS (WXR) exports, hardened against hostile XML.

defusedxml refuses any DTD (so no entity expansion and no external entities), and each
``<item>`` is dropped from the tree as soon as it has been read, so memory stays bounded
however big the export is.

Every dialect WordPress has written is read the same way: WXR 1.0, 1.1 and 1.2, with the
``http://`` or ``https://wordpress.org/export/<version>/`` namespace (WordPress itself now
writes https), CDATA split in pieces, the channel's ``wp:author``, ``wp:category``,
``wp:tag`` and ``wp:term`` declarations, and items in any order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element  # nosec B405 - a type only; defusedxml parses

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

_PREFIXES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://wellformedweb.org/CommentAPI/": "wfw",
}
# http or https, any version: https://wordpress.org/export/1.2/ and .../1.2/excerpt/
_WXR_NAMESPACE = re.compile(
    r"^https?://wordpress\.org/export/(?P<version>[^/]+)/(?P<excerpt>excerpt/?)?$"
)
KNOWN_VERSIONS = ("1.0", "1.1", "1.2")
# Ids are stored in 32-bit integer columns on both databases.
MAX_ID = 2_147_483_647
# The post meta the importer uses; the rest (page builders' data, _edit_lock...) is skipped.
META_KEYS = frozenset(
    {"_thumbnail_id", "_wp_attached_file", "_wp_attachment_image_alt", "footnotes"}
)


class WXRError(ValueError):
    """The file is not a readable, safe WordPress export; the message says why and where."""


class IdError(ValueError):
    """An id in the file is not a whole number within range; the message names it."""


@dataclass
class Site:
    """The channel's own fields: where the old site lived (its links are relative to it)."""

    title: str = ""
    link: str = ""
    base_site_url: str = ""
    base_blog_url: str = ""
    wxr_version: str = ""


@dataclass
class Author:
    wp_id: int | None
    login: str
    email: str
    display_name: str


@dataclass
class ChannelTerm:
    """A wp:category, wp:tag or wp:term declaration (categories carry their parent)."""

    taxonomy: str  # "category", "post_tag", or another taxonomy
    term_id: int | None
    slug: str
    name: str
    parent: str  # the parent's slug (nicename), or ""
    description: str


@dataclass
class Term:
    domain: str  # "category", "post_tag", "" (plain RSS), or another taxonomy
    slug: str  # the nicename ("" in plain RSS categories)
    name: str


@dataclass
class WPComment:
    wp_id: int
    author: str
    author_email: str
    author_url: str
    author_ip: str
    date: str
    date_gmt: str
    content: str
    approved: str  # "1", "0", "spam", "trash", "post-trashed"
    type: str  # "", "comment", "pingback", "trackback", ...
    parent: int
    user_id: int
    error: str = ""  # an id out of range: the comment is skipped with this reason


@dataclass
class Item:
    wp_id: int
    title: str
    link: str
    guid: str
    creator: str
    content: str
    excerpt: str
    post_date: str
    post_date_gmt: str
    modified_gmt: str
    comment_status: str
    post_name: str
    status: str
    post_type: str
    password: str
    sticky: bool
    post_parent: int = 0
    attachment_url: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    terms: list[Term] = field(default_factory=list)
    comments: list[WPComment] = field(default_factory=list)
    error: str = ""  # an id out of range: the item is skipped with this reason


@lru_cache(maxsize=512)
def _name(tag: str) -> str:
    """'{https://wordpress.org/export/1.2/}post_id' -> 'wp:post_id' (any WXR version)."""
    if not tag.startswith("{"):
        return tag
    uri, local = tag[1:].split("}", 1)
    match = _WXR_NAMESPACE.match(uri)
    if match:
        return ("excerpt:" if match["excerpt"] else "wp:") + local
    return f"{_PREFIXES.get(uri, uri)}:{local}"


def _text(element: Element, name: str) -> str:
    for child in element:
        if _name(child.tag) == name:
            return child.text or ""
    return ""


def parse_id(value: str, what: str, required: bool = False) -> int:
    """A WXR id as an int: 0 when empty; IdError when not a number or out of range."""
    value = value.strip()
    if not value:
        if required:
            raise IdError(f"{what} is missing")
        return 0
    if not value.isascii() or not value.isdigit():
        raise IdError(f"{what} {value[:30]!r} is not a whole number")
    number = int(value)
    if number > MAX_ID:
        raise IdError(f"{what} {value[:30]} is out of range (at most {MAX_ID})")
    return number


def _soft_id(value: str) -> int:
    """An id whose absence or nonsense only loses a link (a parent, a user): 0 then."""
    try:
        return parse_id(value, "id")
    except IdError:
        return 0


def id_from_link(url: str) -> int:
    """WordPress's own id in a ?p=, ?page_id= or ?attachment_id= link (0 if none)."""
    query = parse_qs(urlsplit(url.strip()).query)
    for key in ("p", "page_id", "attachment_id"):
        if key in query:
            return _soft_id(query[key][0])
    return 0


def _author(element: Element) -> Author:
    return Author(
        wp_id=_soft_id(_text(element, "wp:author_id")) or None,
        login=_text(element, "wp:author_login").strip(),
        email=_text(element, "wp:author_email").strip(),
        display_name=_text(element, "wp:author_display_name").strip(),
    )


def _channel_term(element: Element, kind: str) -> ChannelTerm:
    get = lambda name: _text(element, "wp:" + name).strip()  # noqa: E731
    if kind == "wp:category":
        return ChannelTerm(
            "category",
            _soft_id(get("term_id")) or None,
            get("category_nicename"),
            get("cat_name"),
            get("category_parent"),
            get("category_description"),
        )
    if kind == "wp:tag":
        return ChannelTerm(
            "post_tag",
            _soft_id(get("term_id")) or None,
            get("tag_slug"),
            get("tag_name"),
            "",
            get("tag_description"),
        )
    return ChannelTerm(
        get("term_taxonomy"),
        _soft_id(get("term_id")) or None,
        get("term_slug"),
        get("term_name"),
        get("term_parent"),
        get("term_description"),
    )


def _fields(element: Element) -> dict[str, str]:
    """An element's children's text by name (the first of each name), read once."""
    fields: dict[str, str] = {}
    for child in element:
        fields.setdefault(_name(child.tag), child.text or "")
    return fields


def _comment(element: Element) -> WPComment:
    fields = _fields(element)
    get = lambda name: fields.get("wp:" + name, "")  # noqa: E731
    error = ""
    try:
        wp_id = parse_id(get("comment_id"), "comment id")
    except IdError as problem:
        wp_id, error = 0, str(problem)
    return WPComment(
        wp_id=wp_id,
        author=get("comment_author").strip(),
        author_email=get("comment_author_email").strip(),
        author_url=get("comment_author_url").strip(),
        author_ip=get("comment_author_IP").strip(),
        date=get("comment_date").strip(),
        date_gmt=get("comment_date_gmt").strip(),
        content=get("comment_content"),
        approved=get("comment_approved").strip(),
        type=get("comment_type").strip(),
        parent=_soft_id(get("comment_parent")),
        user_id=_soft_id(get("comment_user_id")),
        error=error,
    )


def _item(element: Element) -> Item:
    fields = _fields(element)
    get = lambda name: fields.get(name, "")  # noqa: E731
    item = Item(
        wp_id=0,
        title=get("title").strip(),
        link=get("link").strip(),
        guid=get("guid").strip(),
        creator=get("dc:creator").strip(),
        content=get("content:encoded"),
        excerpt=get("excerpt:encoded"),
        post_date=get("wp:post_date").strip(),
        post_date_gmt=get("wp:post_date_gmt").strip(),
        modified_gmt=get("wp:post_modified_gmt").strip(),
        comment_status=get("wp:comment_status").strip(),
        post_name=get("wp:post_name").strip(),
        status=get("wp:status").strip(),
        post_type=get("wp:post_type").strip(),
        password=get("wp:post_password"),
        sticky=get("wp:is_sticky").strip() == "1",
        post_parent=_soft_id(get("wp:post_parent")),
        attachment_url=get("wp:attachment_url").strip(),
    )
    try:
        # Exports cut down by hand (and WordPress's theme test data) may carry only the
        # item's link: its ?p=ID is then the id.
        item.wp_id = (
            parse_id(get("wp:post_id"), "wp:post_id")
            or id_from_link(item.link)
            or id_from_link(item.guid)
        )
    except IdError as problem:
        item.error = str(problem)
    for child in element:
        name = _name(child.tag)
        if name == "category":
            domain = child.get("domain", "")
            term = Term(
                "post_tag" if domain == "tag" else domain,  # WXR 1.0 said "tag"
                child.get("nicename", "").strip(),
                (child.text or "").strip(),
            )
            if term.name or term.slug:
                item.terms.append(term)
        elif name == "wp:comment":
            item.comments.append(_comment(child))
        elif name == "wp:postmeta":
            key = _text(child, "wp:meta_key").strip()
            if key in META_KEYS:
                item.meta[key] = _text(child, "wp:meta_value").strip()
    item.terms = _unique_terms(item.terms)
    return item


def _unique_terms(terms: list[Term]) -> list[Term]:
    """One of each term: WXR 1.0 lists each twice (with and without a nicename), and a
    plain RSS <category> that names a term also given with its domain is the same term."""
    named = {(t.domain, t.name.lower()) for t in terms if t.slug}
    with_domain = {t.name.lower() for t in terms if t.domain}
    kept: list[Term] = []
    seen: set[tuple[str, str, str]] = set()
    for term in terms:
        if not term.slug and (term.domain, term.name.lower()) in named:
            continue
        if not term.domain and term.name.lower() in with_domain:
            continue
        key = (term.domain, term.slug, term.name.lower())
        if key not in seen:
            seen.add(key)
            kept.append(term)
    return kept


class _CountingReader:
    """Wraps the file so the progress bar can show how far the parser has read."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.position += len(data)
        return data


_SITE_FIELDS = {
    "title": "title",
    "link": "link",
    "wp:base_site_url": "base_site_url",
    "wp:base_blog_url": "base_blog_url",
    "wp:wxr_version": "wxr_version",
}
_CHANNEL_TERMS = ("wp:category", "wp:tag", "wp:term")

Record = Site | Author | ChannelTerm | Item


def read_wxr(
    source: BinaryIO, progress=None, only_types: frozenset[str] | None = None
) -> Iterator[Record]:
    """Yield the export's records in file order: Site (once, before anything else it
    precedes), authors, channel terms and items, one at a time.

    ``progress(bytes_read)`` is called after each item; with ``only_types``, other items
    are passed over unread (a quick first pass). Raises WXRError for malformed XML
    (with the line and column), any DTD or entity, or a file that is not a WXR export.
    """
    reader = _CountingReader(source)
    stack: list[Element] = []
    seen_channel = False
    site = Site()
    site_sent = False
    namespaces: list[str] = []
    items = 0
    try:
        events = iterparse(reader, events=("start", "end", "start-ns"), forbid_dtd=True)
        for event, element in events:
            if event == "start-ns":
                namespaces.append(element[1])
                continue
            if event == "start":
                stack.append(element)
                if len(stack) == 1:
                    if _name(element.tag) != "rss":
                        raise WXRError(
                            f"Not a WordPress export: the root element is "
                            f"<{_name(element.tag)}>, expected <rss>."
                        )
                    _check_namespaces(namespaces)
                if len(stack) == 2 and _name(element.tag) == "channel":
                    seen_channel = True
                continue
            stack.pop()
            name = _name(element.tag)
            if len(stack) != 2:  # only the channel's direct children interest us
                continue
            channel = stack[1]
            if name in _SITE_FIELDS:
                setattr(site, _SITE_FIELDS[name], (element.text or "").strip())
                continue
            if not site_sent:
                site_sent = True
                _check_version(site)
                yield site
            if name == "item":
                items += 1
                if only_types is None or _text(element, "wp:post_type").strip() in only_types:
                    yield _item(element)
                if progress:
                    progress(reader.position)
            elif name == "wp:author":
                yield _author(element)
            elif name in _CHANNEL_TERMS:
                yield _channel_term(element, name)
            channel.remove(element)  # bounded memory: nothing keeps a finished element
    except DefusedXmlException as error:
        raise WXRError(
            f"Refused: the file declares a DTD or entities ({type(error).__name__}). "
            "WordPress exports never do; this one may be an entity-expansion or "
            "external-entity attack."
        ) from None
    except ParseError as error:
        line, column = error.position
        message = str(error).split(":", 1)[0]
        raise WXRError(f"Malformed XML at line {line}, column {column + 1}: {message}.") from None
    if not seen_channel:
        raise WXRError("Not a WordPress export: there is no <channel> in the <rss>.")
    if not site_sent:
        _check_version(site)
        yield site


def _check_namespaces(namespaces: list[str]) -> None:
    """The wp: namespace must be one WordPress writes; say which one we found if not."""
    wxr = [uri for uri in namespaces if _WXR_NAMESPACE.match(uri)]
    if wxr:
        return
    lookalike = [uri for uri in namespaces if "wordpress.org/export" in uri]
    if lookalike:
        raise WXRError(
            f"Not a WordPress export this importer can read: its namespace is {lookalike[0]!r}; "
            "expected http(s)://wordpress.org/export/1.0/, 1.1/ or 1.2/."
        )
    raise WXRError(
        "Not a WordPress export: the <rss> declares no WordPress export namespace "
        '(xmlns:wp="https://wordpress.org/export/1.2/"). A plain RSS feed has no posts\' '
        "content, comments or ids; export from WordPress with Tools > Export."
    )


def _check_version(site: Site) -> None:
    if site.wxr_version and site.wxr_version not in KNOWN_VERSIONS:
        raise WXRError(
            f"WXR version {site.wxr_version[:20]!r} is not one this importer knows "
            f"({', '.join(KNOWN_VERSIONS)})."
        )
