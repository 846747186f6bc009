"""The Flask path: which views are cached, hits for visitors with a session, and storing.

Every GET page also gets its ETag, ``Cache-Control`` (``cache_control``) and 304s here,
cached or not.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, has_app_context, request, session
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import Headers

from . import cache_control
from .answer import CSRF_PLACEHOLDER, cached_answer, entry_headers, etag_with_secret
from .store import Entry, page_key

# Session keys that say nothing about a person: the CSRF secret and Flask-Login bookkeeping.
SESSION_KEYS_ALLOWED = frozenset({"csrf_token", "_permanent", "_fresh", "_id"})
CACHEABLE_MIMETYPES = frozenset(
    {
        "text/html",
        "application/atom+xml",
        "application/rss+xml",
        "application/xml",
        "text/xml",
        "text/plain",
    }
)


def init_app(app: Flask) -> None:
    # First of all before_request hooks: the generation must be read before any query.
    app.before_request_funcs.setdefault(None, []).insert(0, serve_from_cache)
    # Last of all after_request hooks (they run in reverse): a page is stored with every
    # header the others added (security, X-Robots-Tag, ...), so a hit sends them all too.
    app.after_request_funcs.setdefault(None, []).insert(0, finish_response)


def public_page(view):
    """Let this view's pages be stored and shared between readers who aren't signed in.

    Opt-in, so the cache fails closed: a view that isn't marked is never stored. Mark only
    views whose answer for a URL is the same for every anonymous reader (what differs per
    visitor — the CSRF token — is handled by the cache). Put it under the route decorator.
    """
    view.public_page = True
    return view


def is_public(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "public_page", False) is True


def dont_cache() -> None:
    """Keep this request's page out of the page cache (for views showing per-visitor data)."""
    g.page_cache_skip = True


def leave_out_of_etag(value: str) -> str:
    """Mark a value this page carries as not part of its ETag; returns it.

    For values that change with time but not with content (the comment form's stamp is
    a new signed time each second): otherwise the same visitor, asking again a second
    later about an unchanged page, would get the whole page instead of a 304.
    """
    if has_app_context():
        g.setdefault("etag_leaves_out", []).append(value)
    return value


@dataclass
class _RequestState:
    key: str
    generation: str
    answer: list[tuple[str, str]] | None = None  # a hit's headers, exactly as sent


def _anonymous_and_impersonal() -> bool:
    """No signed-in user and nothing person-specific in the cookies or the session."""
    session_cookie = current_app.config["SESSION_COOKIE_NAME"]
    if any(name != session_cookie for name in request.cookies):
        return False
    return SESSION_KEYS_ALLOWED.issuperset(session.keys())


def _token_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def serve_from_cache():
    """A stored page for a visitor who has a session but nothing personal in it."""
    cache = current_app.extensions.get("page_cache")
    if cache is None or request.method not in ("GET", "HEAD"):
        return None
    if not (is_public(request.endpoint) and _anonymous_and_impersonal()):
        # Read now, before any query, for what this request files under it (shared pages,
        # the settings): a snapshot older than the generation must never be filed under it.
        g.content_generation = cache.current_generation()
        return None
    key = page_key(request.environ)
    generation, entry = cache.lookup(key)
    g.content_generation = generation
    if not generation:
        return None
    g.page_cache = _RequestState(key, generation)
    if entry is None:
        return None
    token = generate_csrf().encode() if entry.has_token else None  # starts a session if none
    secret = session.get(_token_field(), "")
    status, headers, body = cached_answer(entry, request.environ, token, secret, hit=True)
    g.page_cache.answer = headers
    return current_app.response_class(body, status=status, headers=headers)


def finish_response(response):
    """ETag, Cache-Control and 304 for every page; store it when it may be shared."""
    state: _RequestState | None = g.get("page_cache")
    if state is not None and state.answer is not None:
        # A hit: what other hooks would add is already among the stored headers.
        response.headers = Headers(state.answer)
        return response
    if (
        request.method not in ("GET", "HEAD")
        or request.endpoint == "static"
        or response.status_code != 200
        or response.direct_passthrough
        or response.is_streamed
        or response.mimetype not in CACHEABLE_MIMETYPES
    ):
        return response
    body, has_token = _without_token(response.get_data())
    shareable = _storable(response, body) and is_public(request.endpoint)
    storable = state is not None and shareable
    if shareable and not has_token:
        cache_control.allow_shared(response, current_app.config)
    else:  # it carries this visitor's token, name or held comment, or isn't marked public
        cache_control.keep_private(response)
    if storable:
        return _store(response, state, body, has_token, _digest(body))
    if not response.get_etag()[0]:
        # (A shared page's answer has one already: made from its parts, not the whole page.)
        response.set_etag(_visitor_etag(_digest(body), has_token))
    if state is not None:
        response.headers["X-Page-Cache"] = "miss"
    return response.make_conditional(request)


def _store(response, state: _RequestState, body: bytes, has_token: bool, digest: str):
    """File the page, then answer this request as every later hit will be answered."""
    cache = current_app.extensions["page_cache"]
    headers = entry_headers(response.headers)
    entry = Entry(body, headers, has_token, digest, int(time.time()), state.generation)
    cache.store_page(state.key, entry)
    token = (g.get(_token_field()) or "").encode()
    secret = session.get(_token_field(), "")
    status, headers, out = cached_answer(entry, request.environ, token, secret, hit=False)
    response.status_code = status
    response.headers = Headers(headers)
    response.set_data(out)
    return response


def _digest(body: bytes) -> str:
    for value in g.get("etag_leaves_out", ()):
        body = body.replace(value.encode(), b"")
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _without_token(body: bytes) -> tuple[bytes, bool]:
    token = g.get(_token_field())
    if not token or token.encode() not in body:
        return body, False
    return body.replace(token.encode(), CSRF_PLACEHOLDER), True


def _visitor_etag(digest: str, has_token: bool) -> str:
    """The page's hash, plus the visitor's CSRF secret when the page carries their token."""
    if not has_token:
        return digest
    return etag_with_secret(digest, session.get(_token_field(), ""))


def _storable(response, body: bytes) -> bool:
    if g.get("page_cache_skip") or "Set-Cookie" in response.headers or response.vary:
        return False
    control = response.cache_control
    if control.private or control.no_store:
        return False
    if not _anonymous_and_impersonal():  # e.g. the view flashed a message or signed someone in
        return False
    return CSRF_PLACEHOLDER not in response.get_data()  # typed by someone: never fill it in
