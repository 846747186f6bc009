"""A streaming reader for WordPress eXtended RSS (WXR) exports, hardened against hostile XML.

defusedxml refuses any DTD (so no entity expansion and no external entities), and each
``<item>`` is dropped from the tree as soon as it has been read, so memory stays bounded
however big the export is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from xml.etree.ElementTree import Element  # nosec B405 - a type only; defusedxml parses

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

_PREFIXES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://wellformedweb.org/CommentAPI/": "wfw",
}


class WXRError(ValueError):
    """The file is not a readable, safe WordPress export; the message says why and where."""


@dataclass
class Author:
    wp_id: int | None
    login: str
    email: str
    display_name: str


@dataclass
class Term:
    domain: str  # "category", "post_tag", or another taxonomy
    slug: str  # the nicename
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


@dataclass
class Item:
    wp_id: int
    title: str
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
    terms: list[Term] = field(default_factory=list)
    comments: list[WPComment] = field(default_factory=list)


def _name(tag: str) -> str:
    """'{http://wordpress.org/export/1.2/}post_id' -> 'wp:post_id' (any WXR version)."""
    if not tag.startswith("{"):
        return tag
    uri, local = tag[1:].split("}", 1)
    if uri.startswith("http://wordpress.org/export/"):
        return ("excerpt:" if uri.rstrip("/").endswith("/excerpt") else "wp:") + local
    return f"{_PREFIXES.get(uri, uri)}:{local}"


def _text(element: Element, name: str) -> str:
    for child in element:
        if _name(child.tag) == name:
            return child.text or ""
    return ""


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _author(element: Element) -> Author:
    return Author(
        wp_id=_int(_text(element, "wp:author_id")) or None,
        login=_text(element, "wp:author_login").strip(),
        email=_text(element, "wp:author_email").strip(),
        display_name=_text(element, "wp:author_display_name").strip(),
    )


def _comment(element: Element) -> WPComment:
    get = lambda name: _text(element, "wp:" + name)  # noqa: E731
    return WPComment(
        wp_id=_int(get("comment_id")),
        author=get("comment_author").strip(),
        author_email=get("comment_author_email").strip(),
        author_url=get("comment_author_url").strip(),
        author_ip=get("comment_author_IP").strip(),
        date=get("comment_date").strip(),
        date_gmt=get("comment_date_gmt").strip(),
        content=get("comment_content"),
        approved=get("comment_approved").strip(),
        type=get("comment_type").strip(),
        parent=_int(get("comment_parent")),
        user_id=_int(get("comment_user_id")),
    )


def _item(element: Element) -> Item:
    get = lambda name: _text(element, name)  # noqa: E731
    item = Item(
        wp_id=_int(get("wp:post_id")),
        title=get("title").strip(),
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
    )
    for child in element:
        name = _name(child.tag)
        if name == "category" and child.get("domain"):
            item.terms.append(
                Term(child.get("domain", ""), child.get("nicename", ""), (child.text or "").strip())
            )
        elif name == "wp:comment":
            item.comments.append(_comment(child))
    return item


class _CountingReader:
    """Wraps the file so the progress bar can show how far the parser has read."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.position += len(data)
        return data


def read_wxr(source: BinaryIO, progress=None) -> Iterator[Author | Item]:
    """Yield the export's authors, then its items, one at a time.

    ``progress(bytes_read)`` is called after each item. Raises WXRError for malformed XML
    (with the line and column), any DTD or entity, or a file that is not a WXR export.
    """
    reader = _CountingReader(source)
    stack: list[Element] = []
    seen_channel = False
    try:
        events = iterparse(reader, events=("start", "end"), forbid_dtd=True)
        for event, element in events:
            if event == "start":
                stack.append(element)
                if len(stack) == 1 and _name(element.tag) != "rss":
                    raise WXRError(
                        f"Not a WordPress export: the root element is <{_name(element.tag)}>, "
                        "expected <rss>."
                    )
                if len(stack) == 2 and _name(element.tag) == "channel":
                    seen_channel = True
                continue
            stack.pop()
            name = _name(element.tag)
            if len(stack) != 2:  # only the channel's direct children interest us
                continue
            channel = stack[1]
            if name == "item":
                yield _item(element)
                channel.remove(element)  # bounded memory: nothing keeps a finished item
                if progress:
                    progress(reader.position)
            elif name == "wp:author":
                yield _author(element)
                channel.remove(element)
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
