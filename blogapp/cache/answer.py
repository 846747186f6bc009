"""One cached answer: the status, headers and body of a page served from the cache.

The WSGI fast path (a visitor with no cookies), the Flask path (a visitor with a session)
and the request that stores a page all send what :func:`cached_answer` builds, so their
headers can't drift apart. Everything that is the same for every visitor was stored with
the page (see :func:`entry_headers`); only the token, ETag, Last-Modified, length and
``X-Page-Cache`` are made per answer.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from werkzeug.http import http_date, is_resource_modified, quote_etag, remove_entity_headers

from .store import Entry

CSRF_PLACEHOLDER = b"@@page-cache-csrf-token@@"
# Headers made per answer (or that must never be replayed) are not stored with a page.
HEADERS_NOT_KEPT = frozenset(
    {"content-length", "set-cookie", "vary", "etag", "last-modified", "date", "x-page-cache"}
)
# Pages differ by session (the CSRF token, and who is signed in): say so to every cache.
VARY = ("Vary", "Cookie")


def entry_headers(headers) -> list[tuple[str, str]]:
    """The headers of a finished answer that are the same for every visitor."""
    return [(k, v) for k, v in headers if k.lower() not in HEADERS_NOT_KEPT]


def cached_answer(
    entry: Entry, environ, token: bytes | None, secret: str, hit: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a stored page, for the visitor whose request environ is.

    token is the visitor's signed CSRF token and secret their session's CSRF secret (both
    used only when the page has a form). A matching If-None-Match / If-Modified-Since gets
    304 with the headers werkzeug keeps on one. Written as plain lists (no Response): on
    the fast path a hit is a few dictionary lookups, and building werkzeug's headers would
    cost more than the rest.
    """
    headers = [*entry.headers, VARY]
    body = entry.body
    if entry.has_token:
        body = body.replace(CSRF_PLACEHOLDER, token or b"")
        etag = etag_with_secret(entry.digest, secret)
        last_modified = None  # it carries this visitor's token: its date says nothing
    else:
        etag = entry.digest
        last_modified = datetime.fromtimestamp(entry.stored_at, UTC)
        headers.append(("Last-Modified", http_date(entry.stored_at)))
    headers += [("ETag", quote_etag(etag)), ("X-Page-Cache", "hit" if hit else "miss")]
    if (
        "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
    ) and not is_resource_modified(environ, etag=etag, last_modified=last_modified):
        remove_entity_headers(headers)
        return 304, headers, b""
    headers.append(("Content-Length", str(len(body))))
    return 200, headers, body


def etag_with_secret(digest: str, secret: str) -> str:
    """A page's ETag for one visitor: its hash and their CSRF secret."""
    return hashlib.blake2b(f"{digest}:{secret}".encode(), digest_size=16).hexdigest()
