"""Storing and finding pages: entries, the in-process and Redis stores, the generation."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, has_app_context
from sqlalchemy import func, select

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """A stored page: its bytes and every header that is the same for every visitor."""

    body: bytes  # with CSRF_PLACEHOLDER where the visitor's token goes
    headers: list[tuple[str, str]]  # all the answer's headers but the per-visitor ones
    has_token: bool
    digest: str
    stored_at: int  # seconds since the epoch: Last-Modified
    generation: str

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

    def generation(self) -> str:
        """The generation alone ("" when Redis can't be reached)."""
        try:
            value = self.client.get(self.generation_key)
        except self.errors as error:
            log.warning("page cache: Redis unavailable (%s)", error.__class__.__name__)
            return ""
        return value.decode() if value else "0"

    def get_raw(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except self.errors as error:
            log.warning("page cache: Redis unavailable (%s)", error.__class__.__name__)
            return None

    def set_raw(self, key: str, value: bytes, timeout: int) -> None:
        try:
            self.client.set(self.prefix + key, value, ex=timeout)
        except self.errors as error:
            log.warning("page cache: could not store (%s)", error.__class__.__name__)

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
    """The app's page cache: a store, and the generation that time moves on as well."""

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

    def current_generation(self) -> str:
        """The generation alone, moved on when a scheduled post came due ("": don't cache)."""
        generation = self.store.generation()
        if generation and self._time_passed(generation):
            self.store.bump()
            self._next_change = None
            generation = self.store.generation()
            if self._time_passed(generation):
                return ""
        return generation

    def store_page(self, key: str, entry: Entry) -> None:
        self.store.set(key, entry, self.timeout)

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
    from ..extensions import db
    from ..models import Post, PostStatus, utcnow

    when: datetime | None = db.session.scalar(
        select(func.min(Post.published_at)).where(
            Post.status.in_((PostStatus.PUBLISHED, PostStatus.SCHEDULED)),
            Post.published_at > utcnow(),
        )
    )
    return when.timestamp() if when is not None else None


def page_key(environ) -> str:
    """A page's cache key: its URL as received. Cheap, and the same in both paths."""
    query = environ.get("QUERY_STRING", "")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return f"{environ['wsgi.url_scheme']}://{host}{path}{'?' if query else ''}{query}"
