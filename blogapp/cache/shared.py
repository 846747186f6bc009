"""Shared pages: one rendering per content generation for every viewer, personal parts filled in.

The page cache stores whole pages only for visitors with nothing personal. Everyone else
(members, and visitors whose session holds flashes or held comments) gets a public page
built from two pieces:

- the *shared page*: the view rendered once per content generation, in a request of its
  own with no cookies, no session and an anonymous viewer — so nothing of whoever caused
  the rendering can be in it — with a marker wherever a template calls
  :func:`per_viewer`; stored beside the page cache (in this process, or in Redis when
  ``REDIS_URL`` is set) under the same generation, so a change invalidates it at once
  everywhere;
- the *parts*: small functions registered with :func:`viewer_part` (the header's account
  links, the staff bar, flashes, edit/delete on one's own comments, the comment form...),
  run per request for the viewer, with the values the template gave the marker.

A normal render calls the very same part functions in place, so a filled shared page is
the page an uncached render gives that viewer (``tests/test_shared_pages.py`` compares
them byte for byte).

Failing closed: the shared rendering notes every session key and every use of
``current_user`` outside a part. A page that looked at the viewer is never shared (its
view renders per request, as before), and a page that read a session key (the held
comments a browser posted) is rendered per request for viewers whose session holds that
key. A CSRF token made during the shared rendering becomes a per-viewer part too.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, g, request, session
from flask.ctx import RequestContext
from flask.sessions import SecureCookieSession
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from .pages import (
    CACHEABLE_MIMETYPES,
    SESSION_KEYS_ALLOWED,
    _digest,
    _visitor_etag,
    _without_token,
)
from .store import RedisStore, page_key

log = logging.getLogger(__name__)

PARTS: dict[str, Callable[..., str]] = {}
BATCHED: set[str] = set()  # parts called once per page with every marker's values
PLAIN_TYPES = (str, int, float, bool, type(None))
VIEWER = "current_user"  # what a shared rendering notes when it looks at the viewer
LOCAL_LIMIT = 2000  # shared pages a process keeps (least recently used go first)
# Headers the answer gets afresh (from Flask and the app's after_request hooks).
HEADERS_MADE_PER_ANSWER = frozenset({"content-length", "set-cookie"})


def viewer_part(name: str, batch: bool = False):
    """Register a function that renders one per-viewer part of a shared page.

    batch: the function takes a list of the markers' values and returns their parts, in
    one call a page (for a part on every comment: per-call costs add up).
    """

    def register(fn):
        PARTS[name] = fn
        if batch:
            BATCHED.add(name)
        return fn

    return register


def per_viewer(name: str, /, **args) -> Markup:
    """Jinja global: the part for this viewer, or its marker while a shared page renders.

    args must be plain values (they are stored with the shared page); a part may take
    other keyword arguments (a form filled in on an error page), but a page passing them
    is rendered per viewer.
    """
    recorder: _Recorder | None = g.get("shared_page_recorder")
    if recorder is not None:
        return recorder.marker(name, args)
    if name in BATCHED:
        return Markup(PARTS[name]([args])[0])  # nosec B704 - a part renders a template
    return Markup(PARTS[name](**args))  # nosec B704 - a part renders a template


@dataclass
class SharedPage:
    """A view's answer with markers cut out: text, then a part, then text, and so on."""

    generation: str
    chunks: list[str]  # one more than parts: the text around the parts
    parts: list[tuple[str, dict]]
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # session keys the rendering read
    shared: bool = True  # False: this address is rendered per viewer

    def dumps(self) -> bytes:
        fields = [self.generation, self.chunks, self.parts, self.status, self.headers]
        return json.dumps([*fields, self.reads, self.shared]).encode()

    @classmethod
    def loads(cls, raw: bytes) -> SharedPage:
        generation, chunks, parts, status, headers, reads, shared = json.loads(raw)
        parts = [(name, args) for name, args in parts]
        headers = [(k, v) for k, v in headers]
        return cls(generation, chunks, parts, status, headers, reads, shared)

    def usable_for(self, viewer_session) -> bool:
        return self.shared and not any(viewer_session.get(key) for key in self.reads)

    def fill(self) -> tuple[str, str]:
        """The page for this request's viewer, and the parts alone (for its ETag)."""
        made: list[str] = [""] * len(self.parts)
        batches: dict[str, list[int]] = {}
        for index, (name, args) in enumerate(self.parts):
            if name in BATCHED:
                batches.setdefault(name, []).append(index)
            else:
                made[index] = PARTS[name](**args)
        for name, indexes in batches.items():
            for index, part in zip(
                indexes, PARTS[name]([self.parts[i][1] for i in indexes]), strict=True
            ):
                made[index] = part
        out = [self.chunks[0]]
        for part, chunk in zip(made, self.chunks[1:], strict=True):
            out.append(part)
            out.append(chunk)
        return "".join(out), "\x00".join(made)


class _Recorder:
    """Markers for the parts a shared rendering meets, and what it read of the visitor."""

    def __init__(self):
        self.nonce = secrets.token_hex(12)  # no content can contain the markers
        self.parts: list[tuple[str, dict]] = []
        self.reads: set[str] = set()

    def marker(self, name: str, /, args: dict) -> Markup:
        if not all(isinstance(v, PLAIN_TYPES) for v in args.values()):
            self.reads.add(VIEWER)  # e.g. a filled-in form: this page is per viewer
        self.parts.append((name, args))
        return Markup(f"<!--part-{self.nonce}-{len(self.parts) - 1}-->")  # nosec B704 - hex, int

    def cut(self, text: str) -> tuple[list[str], list[tuple[str, dict]]]:
        """The text around the markers, in page order, and the part each marker stands for."""
        pieces = re.split(f"<!--part-{self.nonce}-([0-9]+)-->", text)
        chunks = pieces[0::2]
        parts = [self.parts[int(index)] for index in pieces[1::2]]
        return chunks, parts


class _WatchedSession(SecureCookieSession):
    """The shared rendering's empty session: notes every key read or written but the
    CSRF secret and Flask-Login's bookkeeping."""

    def __init__(self, reads: set[str]):
        super().__init__()
        self.reads = reads

    def _note(self, key):
        if key not in SESSION_KEYS_ALLOWED:
            self.reads.add(str(key))

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def setdefault(self, key, default=None):
        if key not in SESSION_KEYS_ALLOWED:
            self.reads.add(VIEWER)  # may write: as __setitem__
        return super().setdefault(key, default)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)

    def __iter__(self):
        self.reads.add(VIEWER)
        return super().__iter__()

    def __setitem__(self, key, value):
        # A view that writes the session (a flash on a GET) must run for its viewer: the
        # shared rendering's session is thrown away.
        if key not in SESSION_KEYS_ALLOWED:
            self.reads.add(VIEWER)
        super().__setitem__(key, value)


class _WatchedViewer:
    """An anonymous viewer for the shared rendering that notes being looked at."""

    def __init__(self, reads: set[str]):
        object.__setattr__(self, "_reads", reads)
        object.__setattr__(self, "_anonymous", AnonymousUserMixin())

    def __getattribute__(self, name):
        object.__getattribute__(self, "_reads").add(VIEWER)
        return getattr(object.__getattribute__(self, "_anonymous"), name)

    def __bool__(self):
        object.__getattribute__(self, "_reads").add(VIEWER)
        return True


@viewer_part("csrf")
def _csrf_part() -> str:
    return generate_csrf()


class SharedPages:
    """Where shared pages live: this process's memory, in front of Redis when it is set."""

    def __init__(self, cache):
        self.cache = cache
        self.redis: RedisStore | None = cache.store if isinstance(cache.store, RedisStore) else None
        self.local: OrderedDict[str, SharedPage] = OrderedDict()
        self.sizes: dict[str, int] = {}
        self.size = 0  # characters held, bounded like the page cache's own memory
        self.max_bytes = int(cache.app.config["PAGE_CACHE_MAX_BYTES"])
        self.lock = threading.Lock()

    def find(self, key: str, generation: str) -> SharedPage | None:
        with self.lock:
            found = self.local.get(key)
            if found is not None and found.generation == generation:
                self.local.move_to_end(key)
                return found
        if self.redis is None:
            return None
        raw = self.redis.get_raw("shared:" + key)
        try:
            found = SharedPage.loads(raw) if raw else None
        except (ValueError, TypeError):
            found = None
        if found is None or found.generation != generation:
            return None
        self._keep(key, found)
        return found

    def store(self, key: str, page: SharedPage) -> None:
        self._keep(key, page)
        if self.redis is not None:
            self.redis.set_raw("shared:" + key, page.dumps(), self.cache.timeout)

    def _keep(self, key: str, page: SharedPage) -> None:
        size = sum(map(len, page.chunks))
        with self.lock:
            if key in self.local:
                self._drop(key)
            self.local[key] = page
            self.sizes[key] = size
            self.size += size
            while self.local and (len(self.local) > LOCAL_LIMIT or self.size > self.max_bytes):
                self._drop(next(iter(self.local)))

    def _drop(self, key: str) -> None:
        del self.local[key]
        self.size -= self.sizes.pop(key)


def init_app(app: Flask) -> None:
    """Let every view marked public answer from its shared page (views added later don't)."""
    app.jinja_env.globals["per_viewer"] = per_viewer
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, "public_page", False) is True:
            app.view_functions[endpoint] = _shared_first(view)


def _shared_pages(cache) -> SharedPages:
    """The page cache's shared pages (made on first use: tests swap caches)."""
    pages = getattr(cache, "shared_pages", None)
    if pages is None:
        pages = cache.shared_pages = SharedPages(cache)
    return pages


def _shared_first(view):
    @functools.wraps(view)
    def answer(**values):
        found = shared_answer(view, values)
        return found if found is not None else view(**values)

    return answer


def shared_answer(view, values: dict):
    """This viewer's page from the shared one (rendering that first when needed), or None.

    Runs as the view, after every before_request hook (the user loaded, a stale session
    ended), so the answer then passes every after_request hook like any other.
    """
    cache = current_app.extensions.get("page_cache")
    if cache is None or request.method not in ("GET", "HEAD") or g.get("page_cache"):
        return None  # g.page_cache: an anonymous visitor whose page the page cache stores
    pages = _shared_pages(cache)
    generation = g.get("content_generation")  # read by pages.serve_from_cache, first thing
    if not generation:
        return None
    key = page_key(request.environ)
    page = pages.find(key, generation)
    if page is None:
        page = render_shared(view, values, generation)
        if page is None:
            return None
        pages.store(key, page)
    if not page.usable_for(session):
        return None
    text, parts = page.fill()
    response = current_app.response_class(text, status=page.status, headers=page.headers)
    # The ETag from what varies: the shared page (its address and generation) and this
    # viewer's parts, taken as pages.finish_response takes a whole page (hashing the whole
    # page again cost a tenth of a member's request).
    varying, has_token = _without_token(f"{key}\n{generation}\n{parts}".encode())
    response.set_etag(_visitor_etag(_digest(varying), has_token))  # tokens are in parts only
    return response


def render_shared(view, values: dict, generation: str) -> SharedPage | None:
    """The view's page for nobody in particular, in a request of its own.

    A new app context too: a fresh ``g`` (no loaded user, no CSRF token) and a database
    session of its own, begun after the generation was read, so the page is at least as
    new as the generation it is filed under.
    """
    app = current_app._get_current_object()
    environ = {k: v for k, v in request.environ.items() if k not in ("HTTP_COOKIE",)}
    environ.pop("HTTP_AUTHORIZATION", None)
    recorder = _Recorder()
    not_shared = SharedPage(generation, [], [], shared=False)
    with app.app_context(), RequestContext(app, environ, session=_WatchedSession(recorder.reads)):
        g._login_user = _WatchedViewer(recorder.reads)
        g.shared_page_recorder = recorder
        try:
            response = app.make_response(view(**values))
        except HTTPException:
            return not_shared  # 404 and the like: the view answers them itself
        except Exception:  # noqa: BLE001 - e.g. the database is down: the view's own path says so
            log.exception("shared page: rendering failed; rendered per viewer instead")
            return None
        if not _shareable(response) or VIEWER in recorder.reads:
            return not_shared
        text = response.get_data(as_text=True)
        token = g.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if token:
            text = text.replace(token, str(recorder.marker("csrf", {})))
        chunks, parts = recorder.cut(text)
        headers = [(k, v) for k, v in response.headers if k.lower() not in HEADERS_MADE_PER_ANSWER]
        return SharedPage(
            generation, chunks, parts, response.status_code, headers, sorted(recorder.reads)
        )


def _shareable(response) -> bool:
    control = response.cache_control
    return not (
        response.status_code != 200
        or response.direct_passthrough
        or response.is_streamed
        or response.mimetype not in CACHEABLE_MIMETYPES
        or "Set-Cookie" in response.headers
        or response.vary
        or control.private
        or control.no_store
        or g.get("page_cache_skip")
    )
