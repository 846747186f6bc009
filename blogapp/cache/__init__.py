"""Page cache for anonymous readers, HTTP caching (ETag/304) and fingerprinted static URLs.

Where each part lives
---------------------
- ``store.py``: storing and finding pages (in memory or Redis) and the content generation;
- ``invalidation.py``: the SQLAlchemy session listener that bumps the generation;
- ``answer.py``: the one function that builds a cached answer, for every path below;
- ``pages.py``: the Flask path — ``@public_page``, hits for visitors with a session,
  storing pages, ETags and 304s for every page;
- ``fast_path.py``: the WSGI layer that answers cookieless visitors before Flask runs;
- ``shared.py``: shared pages for everyone else (members): rendered once per generation
  for nobody in particular, with per-viewer parts filled in per request;
- ``cache_control.py``: what browsers and shared caches (nginx, a CDN) may keep, and that
  any answer setting a cookie is private;
- ``static_files.py``: fingerprinted static URLs with a one-year lifetime.

How the page cache stays correct
--------------------------------
*Which pages.* Only views marked :func:`public_page` (opt-in: a new view is never shared
until someone decides it may be). *Who gets them.* Only a GET/HEAD from a visitor who is
not signed in: the request carries no cookie but the session cookie (no remember-me
cookie, nothing another feature may read), and the session holds nothing but the keys in
``pages.SESSION_KEYS_ALLOWED`` (the CSRF secret and Flask-Login's bookkeeping). Anything
else there — ``_flashes``, ``_user_id``, ``held_comments``, any key a future feature adds
— makes the request bypass the cache both ways (no lookup, no store), so one person's data
never reaches another. Only 200 answers of
text types are stored, never ones that set a cookie of their own, say ``Cache-Control:
private``/``no-store`` or vary on a header. A public view can still keep one answer out
with :func:`dont_cache`. A page is stored with every header the app's other hooks gave it,
and every answer from the cache is built by ``answer.cached_answer``, so a hit carries
exactly the headers of the answer that stored it.

*Never stale.* Every stored page is filed under a "content generation". Any commit that
changes what readers see (posts, comments, categories, tags, settings, users' shown names;
see ``invalidation.py``) bumps the generation from a SQLAlchemy ``Session`` listener, so
every writer — views, CLI, importer — invalidates without calling anything. The generation
is read once, as the very first thing a request does (before any query, so a page rendered
from an older database snapshot can't be filed under the newer generation), and a page is
stored under the generation read then:

- with ``REDIS_URL``: pages and the generation live in Redis (the generation is an
  ``INCR``'d key; one ``MGET`` per request reads both), shared by every process and machine;
- without it: pages live in each process's memory, and the generation is a small file in
  the instance folder, replaced atomically on each bump, so every worker on this machine
  sees a change on its very next request. (Several machines need ``REDIS_URL``.)

Time also changes pages without a write: a scheduled post appears when its moment comes.
Each generation remembers the next such moment; once it passes, the generation is bumped.
Entries also expire after ``PAGE_CACHE_TIMEOUT`` seconds as a backstop.

*Forms on cached pages.* The guest comment and reply forms carry the guest token
(``blogapp/guest_token.py``): tied to no session, the same for everyone for ten minutes,
taken only from this site's own pages. So those pages are the same bytes for every
anonymous visitor, start no session and may be kept by shared caches too (see
``cache_control.py``). Any other form's token is Flask-WTF's, which is tied to the
visitor's session, so a page can't be stored with the token of whoever rendered it. When
a page is stored, the signed token that request used is replaced by ``CSRF_PLACEHOLDER``;
when it is served, the placeholder is replaced by the current visitor's own token
(``generate_csrf()``, which also starts their session when they have none; for a visitor
with no cookies at all, :class:`FastHits` does the same before Flask runs). Their form then
posts exactly as if the page had been rendered for them. A page that already contains the
placeholder text (someone typed it) is never stored, so no visitor's token can be planted
into a link.

HTTP caching: GET answers of text types carry an ``ETag`` (a hash of the page with the
per-request signed token taken out, plus the visitor's session token when it carries one,
so such a page's tag is stable per visitor and differs between visitors). A page that may
be shared says ``public, max-age=0, s-maxage=1, stale-while-revalidate=1`` (browsers
revalidate, so changes show at once; a proxy keeps it a second); every other page is
``private``. A matching ``If-None-Match`` or ``If-Modified-Since`` gets 304.
Static files get ``?v=<content hash>`` in their URLs and a one-year immutable lifetime.
"""

from __future__ import annotations

import os

from flask import Flask

from . import cache_control, invalidation, pages, shared, static_files
from .answer import CSRF_PLACEHOLDER, cached_answer
from .fast_path import FastHits
from .invalidation import bump_generation
from .pages import dont_cache, is_public, leave_out_of_etag, public_page
from .shared import per_viewer, viewer_part
from .static_files import static_version
from .store import Entry, PageCache, page_key

__all__ = [
    "CSRF_PLACEHOLDER",
    "Entry",
    "FastHits",
    "PageCache",
    "bump_generation",
    "cached_answer",
    "dont_cache",
    "init_app",
    "is_public",
    "leave_out_of_etag",
    "page_key",
    "per_viewer",
    "public_page",
    "static_version",
    "viewer_part",
]


def init_app(app: Flask) -> None:
    """Wire the page cache, ETags and static fingerprints into the app."""
    app.config.setdefault("PAGE_CACHE_TIMEOUT", 600)
    app.config.setdefault("PAGE_CACHE_MAX_BYTES", 64 * 1024 * 1024)
    app.config.setdefault("PAGE_CACHE_KEY_PREFIX", "blog:page-cache:")
    app.config.setdefault(
        "PAGE_CACHE_GENERATION_FILE", os.path.join(app.instance_path, "page-cache-generation")
    )
    cache_control.init_app(app)  # before FastHits: it makes cookies with the session interface
    cache = PageCache(app) if app.config.get("PAGE_CACHE_ENABLED") else None
    app.extensions["page_cache"] = cache
    if cache is not None:
        app.wsgi_app = FastHits(app, cache, app.wsgi_app)
    pages.init_app(app)
    shared.init_app(app)
    static_files.init_app(app)
    invalidation.listen_for_changes()
