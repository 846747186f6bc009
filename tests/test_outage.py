"""Database outages: a clear 503 quickly, recovery with no restart, nothing acknowledged lost.

PostgreSQL: a throwaway cluster this test creates and owns is stopped under load and
started again. SQLite: a database locked by another process, and a read-only database.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
from flask import abort, request
from flask_migrate import upgrade
from sqlalchemy import select

from blogapp import create_app
from blogapp.extensions import csrf, db
from blogapp.models import Setting
from tests import helpers
from tests.builders import make_category, make_post, make_user
from tests.servers import Browser, Cluster, threaded_server

pytestmark = pytest.mark.slow

OUTAGE_TEXT = "database can"


def add_write_probe(app) -> None:
    """POST /_probe/write stores a row and answers 201 only once it is committed.

    A minimal acknowledged write, independent of any feature's form rules, so the test is
    about the database layer: what the server said it stored must be there afterwards.
    """

    @csrf.exempt
    def write_probe():
        key = request.form.get("key", "")
        if not key.startswith("probe-"):
            abort(400)
        db.session.add(Setting(key=key, value="acknowledged"))
        db.session.commit()
        return key, 201

    app.add_url_rule("/_probe/write", view_func=write_probe, methods=["POST"])


@dataclass
class Load:
    """Readers and writers hammering a server in threads, recording every answer."""

    base: str
    paths: list[str]
    results: list[tuple[float, str, int, float, str]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def _loop(self, action: Callable[[requests.Session], tuple[str, requests.Response]]):
        http = requests.Session()
        http.trust_env = False
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                label, response = action(http)
                status, text = response.status_code, response.text
            except requests.RequestException as error:
                label, status, text = "?", 0, str(error)
            self.results.append((started, label, status, time.monotonic() - started, text))
            time.sleep(0.02)

    def reader(self, n: int):
        def action(http):
            path = self.paths[n % len(self.paths)]
            return path, http.get(self.base + path, timeout=30)

        return action

    def writer(self, http):
        key = f"probe-{uuid.uuid4().hex}"
        response = http.post(self.base + "/_probe/write", data={"key": key}, timeout=30)
        if response.status_code == 201:
            self.acknowledged.append(key)
        return "write", response

    def start(self, readers: int = 4, writers: int = 2) -> None:
        actions = [self.reader(n) for n in range(readers)] + [self.writer] * writers
        for action in actions:
            thread = threading.Thread(target=self._loop, args=(action,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def outage_app(cluster):
    app = create_app(helpers.test_config(cluster.url, TESTING=False))
    with app.app_context():
        upgrade()
        author = make_user("writer", role="author")
        slug = make_post(author, title="Staying up", category=make_category("News")).slug
        make_user("reader")
    add_write_probe(app)
    app.post_slug = slug
    yield app
    with app.app_context():
        db.engine.dispose()


def test_postgresql_stopped_under_load_then_recovers(outage_app, cluster, record_property):
    slug = outage_app.post_slug
    with threaded_server(outage_app) as base:
        member = Browser(base)
        member.login("reader")
        load = Load(base, ["/", f"/posts/{slug}", "/healthz", "/category/news", "/author/writer"])
        load.start()
        time.sleep(1.5)

        cluster.stop("fast")
        down_at = time.monotonic()
        time.sleep(1.0)  # requests in flight when it went down have settled
        for path in ("/", f"/posts/{slug}", "/author/writer"):
            for person in (Browser(base), member):
                started = time.monotonic()
                page = person.get(path)
                assert time.monotonic() - started < 6, f"{path} took too long to fail"
                assert page.status_code == 503, (path, page.status_code)
                assert "Temporarily unavailable" in page.text
                assert OUTAGE_TEXT in page.text
                assert page.headers["Retry-After"]
        health = requests.get(base + "/healthz", timeout=10)
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"
        time.sleep(1.0)

        starting_at = time.monotonic()
        cluster.start()
        up_at = time.monotonic()
        recovered_at = None
        while time.monotonic() - up_at < 30:
            if requests.get(base + "/healthz", timeout=10).status_code == 200:
                recovered_at = time.monotonic()
                break
            time.sleep(0.05)
        assert recovered_at is not None, "the app did not recover within 30 s"
        time.sleep(1.5)  # load carries on against the recovered database
        load.finish()

        assert member.get(f"/posts/{slug}").status_code == 200
        assert "Staying up" in member.get("/").text

    recovery = recovered_at - up_at
    record_property("recovery_seconds", round(recovery, 2))
    print(f"\noutage: {len(load.results)} requests, recovery {recovery:.2f} s after restart")
    assert recovery < 10

    statuses = {status for _, _, status, _, _ in load.results}
    assert statuses <= {200, 201, 302, 503}, [
        r[1:4] for r in load.results if r[2] not in (200, 201, 302, 503)
    ][:5]
    # (pg_ctl start returns a moment after the server accepts connections: stop before it.)
    during = [r for r in load.results if down_at + 0.5 < r[0] < starting_at]
    assert during
    assert [r[1:4] for r in during if r[2] != 503] == []
    assert max(duration for _, _, _, duration, _ in during) < 6
    after = [r for r in load.results if r[0] > recovered_at + 0.5]
    assert after and all(status in (200, 201) for _, _, status, _, _ in after)

    with outage_app.app_context():
        stored = set(db.session.scalars(select(Setting.key).where(Setting.key.like("probe-%"))))
    assert load.acknowledged, "no write was acknowledged"
    assert set(load.acknowledged) <= stored, "an acknowledged write was lost"


# --- SQLite -----------------------------------------------------------------------------


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path):
    path = tmp_path / "blog.sqlite3"
    shutil.copy(sqlite_template, path)
    # Give up on a lock after 0.3 s instead of the production 10 s: the test is about
    # what a person sees when the wait runs out, not about the wait itself.
    app = create_app(
        helpers.test_config(f"sqlite:///{path}", TESTING=False, SQLITE_BUSY_TIMEOUT_MS=300)
    )
    with app.app_context():
        slug = make_post(make_user("writer", role="author"), title="Locked out").slug
    add_write_probe(app)
    app.post_slug = slug
    app.db_path = path
    yield app
    with app.app_context():
        db.engine.dispose()


def test_sqlite_locked_by_another_process_gives_a_clear_503(sqlite_app):
    client = sqlite_app.test_client()
    with sqlite_app.app_context():
        db.engine.dispose()  # the app's idle pooled connections would stop the lock below
    holder = sqlite3.connect(sqlite_app.db_path, isolation_level=None)
    try:
        # Exclusive locking mode in WAL keeps every other connection out, readers too.
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO settings (key, value, updated_at) VALUES ('x', 'y', '')")
        write = client.post("/_probe/write", data={"key": "probe-locked"})
        read = client.get(f"/posts/{sqlite_app.post_slug}")
        health = client.get("/healthz")
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    with sqlite_app.app_context():
        db.engine.dispose()  # connections that failed under the lock start afresh
    for response in (write, read):
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.text
        assert "Traceback" not in response.text
    assert health.status_code == 503
    assert health.json["database"] == "unavailable"
    # The lock released, all is well again with the same app.
    assert client.get(f"/posts/{sqlite_app.post_slug}").status_code == 200
    assert client.post("/_probe/write", data={"key": "probe-after"}).status_code == 201


def test_sqlite_read_only_database_gives_a_clear_503(sqlite_template, tmp_path):
    path = tmp_path / "blog.sqlite3"
    shutil.copy(sqlite_template, path)
    # Read-only as the OS would make it for a process without write permission (the tests
    # run as root, for whom file modes are no barrier, so SQLite is told instead).
    app = create_app(helpers.test_config(f"sqlite:///file:{path}?mode=ro&uri=true", TESTING=False))
    add_write_probe(app)
    client = app.test_client()
    assert client.get("/").status_code == 200
    response = client.post("/_probe/write", data={"key": "probe-ro"})
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text
    assert client.get("/").status_code == 200
    with app.app_context():
        db.engine.dispose()
