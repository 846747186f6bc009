"""Page cache for anonymous readers, HTTP caching (ETag/304) and fingerprinted static URLs.

How the page cache stays correct
--------------------------------
*Who gets cached pages.* Only a GET/HEAD from a visitor who is not signed in: the request
carries no cookie but the session cookie (no remember-me cookie, nothing another feature may
read), and the session holds nothing but the keys in ``SESSION_KEYS_ALLOWED`` (the CSRF
secret and Flask-Login's bookkeeping). Anything else there — ``_flashes``, ``_user_id``,
``held_comments``, any key a future feature adds — makes the request bypass the cache both
ways (no lookup, no store), so one person's data never reaches another. Only 200 answers of
text types are stored, never ones that set a cookie of their own, say ``Cache-Control:
private``/``no-store``, vary on a header, or come from the account/admin/auth blueprints.
A view can also opt out with :func:`dont_cache`.

*Never stale.* Every stored page is filed under a "content generation". Any commit that
changes what readers see (posts, comments, categories, tags, settings, users' shown names;
see :func:`_note_changes`) bumps the generation from a SQLAlchemy ``Session`` listener, so
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

*CSRF on cached pages.* Flask-WTF's token is tied to the visitor's session, so a page can't
be stored with the token of whoever rendered it. When a page is stored, the signed token
that request used is replaced by ``CSRF_PLACEHOLDER``; when it is served, the placeholder is
replaced by the current visitor's own token (``generate_csrf()``, which also starts their
session when they have none; for a visitor with no cookies at all, :class:`FastHits` does
the same before Flask runs). Their comment form then posts exactly as if the page had
been rendered for them. A page that already contains the placeholder text (someone typed
it) is never stored, so no visitor's token can be planted into a link.

HTTP caching: GET answers of text types carry an ``ETag`` (a hash of the page with the
per-request signed token taken out, plus the visitor's session token, so it is stable per
visitor and differs between visitors) and ``Cache-Control: no-cache`` (browsers revalidate,
so changes show at once); a matching ``If-None-Match`` or ``If-Modified-Since`` gets 304.
Static files get ``?v=<content hash>`` in their URLs and a one-year immutable lifetime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_app_context, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session
from werkzeug.http import dump_cookie, http_date, is_resource_modified, quote_etag

log = logging.getLogger(__name__)

# Session keys that say nothing about a person: the CSRF secret and Flask-Login bookkeeping.
SESSION_KEYS_ALLOWED = frozenset({"csrf_token", "_permanent", "_fresh", "_id"})
CSRF_PLACEHOLDER = b"@@page-cache-csrf-token@@"
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
# Pages about a person or an action: never stored, even for anonymous visitors.
PRIVATE_BLUEPRINTS = frozenset(
    {"auth", "account", "admin", "dashboard", "authoring", "health", "media"}
)
PRIVATE_ENDPOINTS = frozenset(
    {"static", "posts.upload", "comments.moderate_link", "comments.unsubscribe", "comments.edit"}
)
# Changes to these tables never show on a public page.
TABLES_NOT_SHOWN = frozenset({"subscriptions"})
# A user's row shows on pages only through these columns (and by existing at all).
USER_SHOWN_FIELDS = (
    "username", "display_name", "bio", "bio_html", "credentials", "avatar", "role"
)  # fmt: skip
# Headers made per response (or that must never be replayed) are not stored with a page.
HEADERS_NOT_KEPT = frozenset(
    {"content-length", "set-cookie", "vary", "etag", "last-modified", "date", "x-page-cache"}
)
STATIC_MAX_AGE = 31536000
_DIRTY = "page_cache_dirty"
_TEXT_DML = re.compile(r"^\s*(insert|update|delete|replace)\b", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """Wire the page cache, ETags and static fingerprints into the app."""
    app.config.setdefault("PAGE_CACHE_TIMEOUT", 600)
    app.config.setdefault("PAGE_CACHE_MAX_BYTES", 64 * 1024 * 1024)
    app.config.setdefault("PAGE_CACHE_KEY_PREFIX", "blog:page-cache:")
    app.config.setdefault(
        "PAGE_CACHE_GENERATION_FILE", os.path.join(app.instance_path, "page-cache-generation")
    )
    cache = PageCache(app) if app.config.get("PAGE_CACHE_ENABLED") else None
    app.extensions["page_cache"] = cache
    if cache is not None:
        app.wsgi_app = FastHits(app, cache, app.wsgi_app)
    # First of all before_request hooks: the generation must be read before any query.
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_from_cache)
    app.after_request(_finish_response)
    app.url_defaults(_fingerprint_static)
    _listen_for_changes()


def dont_cache() -> None:
    """Keep this request's page out of the page cache (for views showing per-visitor data)."""
    g.page_cache_skip = True


def bump_generation(app: Flask | None = None) -> None:
    """Invalidate every cached page (done automatically on commits that change content)."""
    cache = (app or current_app).extensions.get("page_cache")
    if cache is not None:
        cache.store.bump()


@dataclass
class Entry:
    body: bytes  # with CSRF_PLACEHOLDER where the visitor's token goes
    headers: list[tuple[str, str]]  # the view's own headers, Content-Type among them
    has_token: bool
    digest: str
    stored_at: int  # seconds since the epoch: Last-Modified
    generation: str

    def security_headers(self, secure: bool) -> list[tuple[str, str]]:
        """security.py's headers that the page doesn't set itself."""
        from .security import security_headers

        own = {name.lower() for name, _ in self.headers}
        return [(k, v) for k, v in security_headers(secure) if k.lower() not in own]

    def dumps(self) -> bytes:
        head = [self.headers, self.has_token, self.digest, self.stored_at, self.generation]
        return json.dumps(head).encode() + b"\n" + self.body

    @classmethod
    def loads(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        headers, has_token, digest, stored_at, generation = json.loads(head)
        headers = [tuple(pair) for pair in headers]
        return cls(body, headers, has_token, digest, stored_at, generation)


class LocalStore:
    """Pages in this process's memory (LRU, bounded in bytes); the generation in a file."""

    def __init__(self, generation_file: str, max_bytes: int):
        self.path = generation_file
        self.max_bytes = max_bytes
        self.pages: OrderedDict[str, tuple[Entry, float]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()
        self.fallback = "0"  # used only when the file can't be written

    def generation(self) -> str:
        try:
            with open(self.path, "rb") as handle:
                return handle.read(64).decode("ascii", "replace") or self.fallback
        except OSError:
            return self.fallback

    def bump(self) -> None:
        value = uuid.uuid4().hex
        temporary = f"{self.path}.{os.getpid()}.{threading.get_ident()}"
        try:
            with open(temporary, "w") as handle:
                handle.write(value)
            os.replace(temporary, self.path)  # atomic: readers see the old or the new value
        except OSError as error:
            log.warning("page cache generation file not writable (%s); this process only", error)
            self.fallback = value
            with self.lock:
                self.pages.clear()
                self.size = 0

    def get(self, key: str, generation: str) -> Entry | None:
        with self.lock:
            found = self.pages.get(key)
            if found is None:
                return None
            entry, expires = found
            if entry.generation != generation or expires < time.monotonic():
                self._drop(key)
                return None
            self.pages.move_to_end(key)
            return entry

    def set(self, key: str, entry: Entry, timeout: int) -> None:
        with self.lock:
            if key in self.pages:
                self._drop(key)
            self.pages[key] = (entry, time.monotonic() + timeout)
            self.size += len(entry.body)
            while self.size > self.max_bytes and self.pages:
                self._drop(next(iter(self.pages)))

    def _drop(self, key: str) -> None:
        entry, _ = self.pages.pop(key)
        self.size -= len(entry.body)


class RedisStore:
    """Pages and the generation in Redis, shared by every process; one round trip a lookup."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.errors = redis.RedisError
        self.client = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, health_check_interval=30
        )
        self.generation_key = prefix + "generation"
        self.prefix = prefix + "page:"

    def lookup(self, key: str) -> tuple[str, Entry | None]:
        """The generation and the page stored under key, in one MGET."""
        try:
            generation, raw = self.client.mget(self.generation_key, self.prefix + key)
        except self.errors as error:
            log.warning("page cache: Redis unavailable (%s)", error.__class__.__name__)
            return "", None  # "": don't use the cache for this request
        generation = generation.decode() if generation else "0"
        if raw is None:
            return generation, None
        try:
            entry = Entry.loads(raw)
        except (ValueError, TypeError):
            return generation, None
        return generation, (entry if entry.generation == generation else None)

    def set(self, key: str, entry: Entry, timeout: int) -> None:
        try:
            self.client.set(self.prefix + key, entry.dumps(), ex=timeout)
        except self.errors as error:
            log.warning("page cache: could not store (%s)", error.__class__.__name__)

    def bump(self) -> None:
        try:
            self.client.incr(self.generation_key)
        except self.errors as error:
            log.error("page cache: could not invalidate (%s)", error.__class__.__name__)


class PageCache:
    def __init__(self, app: Flask):
        config = app.config
        self.timeout = int(config["PAGE_CACHE_TIMEOUT"])
        if config.get("REDIS_URL"):
            self.store: LocalStore | RedisStore = RedisStore(
                config["REDIS_URL"], config["PAGE_CACHE_KEY_PREFIX"]
            )
        else:
            self.store = LocalStore(
                config["PAGE_CACHE_GENERATION_FILE"], int(config["PAGE_CACHE_MAX_BYTES"])
            )
        self.app = app
        # generation -> the next moment a scheduled post appears (None: none waiting)
        self._next_change: tuple[str, float | None] | None = None

    def lookup(self, key: str) -> tuple[str, Entry | None]:
        """The current generation ("" when the cache can't be used now) and key's page."""
        generation, entry = self._read(key)
        if generation and self._time_passed(generation):
            self.store.bump()
            self._next_change = None
            generation, entry = self._read(key)
            if self._time_passed(generation):  # the bump didn't take: don't use the cache
                return "", None
        return generation, entry

    def _read(self, key: str) -> tuple[str, Entry | None]:
        if isinstance(self.store, RedisStore):
            return self.store.lookup(key)
        generation = self.store.generation()
        return generation, self.store.get(key, generation)

    def _time_passed(self, generation: str) -> bool:
        """True when a scheduled post has come due since this generation's pages were made."""
        if self._next_change is None or self._next_change[0] != generation:
            if has_app_context():
                moment = _next_scheduled_moment()
            else:  # the fast path runs outside Flask: a context just for this query
                with self.app.app_context():
                    moment = _next_scheduled_moment()
            self._next_change = (generation, moment)
        moment = self._next_change[1]
        return moment is not None and time.time() >= moment


def _next_scheduled_moment() -> float | None:
    from .extensions import db
    from .models import Post, PostStatus, utcnow

    when: datetime | None = db.session.scalar(
        select(func.min(Post.published_at)).where(
            Post.status.in_((PostStatus.PUBLISHED, PostStatus.SCHEDULED)),
            Post.published_at > utcnow(),
        )
    )
    return when.timestamp() if when is not None else None


# -- the fast path -----------------------------------------------------------------------


class FastHits:
    """WSGI layer that answers a cache hit for a cookieless GET before Flask runs.

    A request with no cookies at all has no session and no remember-me cookie: nobody is
    signed in and nothing personal can be on the page, so the stored bytes are the answer.
    Entries exist only for endpoints the Flask path judged cacheable, so this layer needs
    no routing.

    A page with a form (the comment form) needs the visitor's own CSRF token. A cookieless
    visitor has no session yet, so this layer starts one exactly as Flask-WTF's
    ``generate_csrf()`` would: a random secret in a new signed session cookie (made by the
    app's own session interface) and, in the page, that secret signed with Flask-WTF's
    serializer and salt. Posting the form then goes through Flask-WTF's own validation, so
    nothing here decides whether a token is good. Any other visitor — one with a session
    already — goes through Flask (``_serve_from_cache``), which reuses their secret.
    """

    def __init__(self, app: Flask, cache: PageCache, wsgi_app):
        self.app = app
        self.cache = cache
        self.wsgi_app = wsgi_app
        self.token_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self.token_signer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")  # Flask-WTF's
        self.session_signer = app.session_interface.get_signing_serializer(app)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD") and not environ.get("HTTP_COOKIE"):
            generation, entry = self.cache.lookup(page_key(environ))
            if generation and entry is not None:
                status, headers, body = self._answer(environ, entry)
                start_response(status, headers)
                return [b""] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ, entry: Entry) -> tuple[str, list[tuple[str, str]], bytes]:
        """Status, headers and body for a hit: the same headers the Flask path would send.

        Written as plain WSGI (no Response object): a hit is a few dictionary lookups, and
        building and then serialising werkzeug's headers would cost more than the rest.
        """
        secure = environ["wsgi.url_scheme"] == "https"
        headers = [*entry.headers, *entry.security_headers(secure), ("Vary", "Cookie")]
        body = entry.body
        if entry.has_token:
            secret = secrets.token_hex(20)  # the shape of Flask-WTF's own (40 hex digits)
            body = body.replace(CSRF_PLACEHOLDER, self.token_for(secret))
            headers += [
                ("Cache-Control", "no-cache, private"),  # it carries this visitor's token now
                ("ETag", quote_etag(_etag_with_secret(entry.digest, secret))),
                ("Set-Cookie", self._session_cookie(secret)),
            ]
            # A new visitor can't hold this ETag yet: nothing to answer with 304.
        else:
            headers += [
                ("Cache-Control", "no-cache"),
                ("ETag", quote_etag(entry.digest)),
                ("Last-Modified", http_date(entry.stored_at)),
            ]
            if (
                "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
            ) and not is_resource_modified(
                environ,
                etag=entry.digest,
                last_modified=datetime.fromtimestamp(entry.stored_at, UTC),
            ):
                kept = [(k, v) for k, v in headers if k.lower() != "content-type"]
                return "304 NOT MODIFIED", [*kept, ("X-Page-Cache", "hit")], b""
        headers += [("Content-Length", str(len(body))), ("X-Page-Cache", "hit")]
        return "200 OK", headers, body

    def token_for(self, secret: str) -> bytes:
        return self.token_signer.dumps(secret).encode()

    def _session_cookie(self, secret: str) -> str:
        """A new session holding only a CSRF secret, made as Flask's session interface would."""
        app, interface = self.app, self.app.session_interface
        fresh = interface.session_class({self.token_field: secret})
        return dump_cookie(
            interface.get_cookie_name(app),
            self.session_signer.dumps(dict(fresh)),
            expires=interface.get_expiration_time(app, fresh),
            httponly=interface.get_cookie_httponly(app),
            domain=interface.get_cookie_domain(app),
            path=interface.get_cookie_path(app),
            secure=interface.get_cookie_secure(app),
            samesite=interface.get_cookie_samesite(app),
        )


def page_key(environ) -> str:
    """A page's cache key: its URL as received. Cheap, and the same in both paths."""
    query = environ.get("QUERY_STRING", "")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return f"{environ['wsgi.url_scheme']}://{host}{path}{'?' if query else ''}{query}"


# -- request hooks -----------------------------------------------------------------------


@dataclass
class _RequestState:
    key: str
    generation: str
    hit: bool = False


def _anonymous_and_impersonal() -> bool:
    """No signed-in user and nothing person-specific in the cookies or the session."""
    session_cookie = current_app.config["SESSION_COOKIE_NAME"]
    if any(name != session_cookie for name in request.cookies):
        return False
    return SESSION_KEYS_ALLOWED.issuperset(session.keys())


def _cacheable_endpoint() -> bool:
    endpoint = request.endpoint
    if endpoint is None or endpoint in PRIVATE_ENDPOINTS:
        return False
    return request.blueprint not in PRIVATE_BLUEPRINTS


def _serve_from_cache():
    cache: PageCache | None = current_app.extensions.get("page_cache")
    if cache is None or request.method not in ("GET", "HEAD"):
        return None
    if not (_cacheable_endpoint() and _anonymous_and_impersonal()):
        return None
    key = page_key(request.environ)
    generation, entry = cache.lookup(key)
    if not generation:
        return None
    g.page_cache = _RequestState(key, generation)
    if entry is None:
        return None
    g.page_cache.hit = True
    body = entry.body
    if entry.has_token:
        body = body.replace(CSRF_PLACEHOLDER, generate_csrf().encode())
    response = current_app.response_class(body, status=200, headers=entry.headers)
    response.set_etag(_visitor_etag(entry.digest, entry.has_token))
    if entry.has_token:
        response.cache_control.private = True  # it carries this visitor's token now
    else:
        response.last_modified = entry.stored_at  # the same bytes for everyone: dates suffice
    response.headers["X-Page-Cache"] = "hit"
    return response


def _finish_response(response):
    if request.endpoint == "static":
        _static_lifetime(response)
        return response
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or response.direct_passthrough
        or response.is_streamed
        or response.mimetype not in CACHEABLE_MIMETYPES
    ):
        return response
    state: _RequestState | None = g.get("page_cache")
    if state is None or not state.hit:
        body, has_token = _without_token(response.get_data())
        digest = _digest(body)
        if not response.get_etag()[0]:
            response.set_etag(_visitor_etag(digest, has_token))
        if state is not None and _storable(response, body):
            headers = [(k, v) for k, v in response.headers if k.lower() not in HEADERS_NOT_KEPT]
            entry = Entry(body, headers, has_token, digest, int(time.time()), state.generation)
            current_app.extensions["page_cache"].store.set(
                state.key, entry, current_app.extensions["page_cache"].timeout
            )
            if not has_token:
                response.last_modified = entry.stored_at
        if state is not None:
            response.headers["X-Page-Cache"] = "miss"
        if has_token or "_user_id" in session:
            response.cache_control.private = True
    if not response.cache_control.no_store and response.cache_control.max_age is None:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


def leave_out_of_etag(value: str) -> str:
    """Mark a value this page carries as not part of its ETag; returns it.

    For values that change with time but not with content (the comment form's stamp is
    a new signed time each second): otherwise the same visitor, asking again a second
    later about an unchanged page, would get the whole page instead of a 304.
    """
    if has_app_context():
        g.setdefault("etag_leaves_out", []).append(value)
    return value


def _digest(body: bytes) -> str:
    for value in g.get("etag_leaves_out", ()):
        body = body.replace(value.encode(), b"")
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _without_token(body: bytes) -> tuple[bytes, bool]:
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if not token or token.encode() not in body:
        return body, False
    return body.replace(token.encode(), CSRF_PLACEHOLDER), True


def _visitor_etag(digest: str, has_token: bool) -> str:
    """The page's hash, plus the visitor's CSRF secret when the page carries their token."""
    if not has_token:
        return digest
    secret = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), "")
    return _etag_with_secret(digest, secret)


def _etag_with_secret(digest: str, secret: str) -> str:
    return hashlib.blake2b(f"{digest}:{secret}".encode(), digest_size=16).hexdigest()


def _storable(response, body: bytes) -> bool:
    if g.get("page_cache_skip") or "Set-Cookie" in response.headers or response.vary:
        return False
    control = response.cache_control
    if control.private or control.no_store:
        return False
    if not _anonymous_and_impersonal():  # e.g. the view flashed a message or signed someone in
        return False
    return CSRF_PLACEHOLDER not in response.get_data()  # typed by someone: never fill it in


# -- static files ------------------------------------------------------------------------

_static_versions: dict[str, tuple[float, str]] = {}


def static_version(filename: str) -> str | None:
    """A short hash of a static file's content (recomputed when the file changes)."""
    folder = current_app.static_folder
    if not folder:
        return None
    path = os.path.join(folder, filename)
    try:
        mtime = os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    known = _static_versions.get(path)
    if known is not None and known[0] == mtime:
        return known[1]
    with open(path, "rb") as handle:
        version = hashlib.blake2b(handle.read(), digest_size=6).hexdigest()
    _static_versions[path] = (mtime, version)
    return version


def _fingerprint_static(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def _static_lifetime(response) -> None:
    """A year, immutable, for a URL naming the file's current content; revalidate otherwise."""
    filename = (request.view_args or {}).get("filename", "")
    version = request.args.get("v")
    if response.status_code in (200, 304) and version and version == static_version(filename):
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_MAX_AGE
        response.cache_control.immutable = True
        response.cache_control.no_cache = None


# -- invalidation ------------------------------------------------------------------------

_listening = False


def _listen_for_changes() -> None:
    global _listening
    if _listening:
        return
    _listening = True
    event.listen(Session, "after_flush", _note_changes)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)


def _note_changes(session: Session, flush_context) -> None:
    """Mark the session when this flush changed anything a reader can see."""
    if session.info.get(_DIRTY):
        return
    from .models import User

    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table in TABLES_NOT_SHOWN:
            continue
        if isinstance(obj, User):
            if obj in session.new:
                continue  # a new account shows nowhere until it writes something
            if obj not in session.deleted:
                state = inspect(obj)
                if not any(state.attrs[name].history.has_changes() for name in USER_SHOWN_FIELDS):
                    continue
        session.info[_DIRTY] = True
        return


def _note_statement(state) -> None:
    """Bulk UPDATE/DELETE/INSERT run through the session count as changes too."""
    if state.is_select:
        return
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table is not None:
        if table not in TABLES_NOT_SHOWN:
            state.session.info[_DIRTY] = True
    elif state.is_update or state.is_delete or state.is_insert:
        state.session.info[_DIRTY] = True
    elif _TEXT_DML.match(str(statement)):
        state.session.info[_DIRTY] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False) and has_app_context():
        bump_generation()


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction was rolled back
        session.info.pop(_DIRTY, None)
