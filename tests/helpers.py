"""Test helpers: configuration, CSRF tokens from real pages, signing in."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

SECRET = "test-secret-key-not-for-production"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# What a browser sends with a form POST from one of this site's pages (SITE_URL below):
# the guest token on shared pages is taken only with these (blogapp/guest_token.py).
FROM_THIS_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def test_config(database_url: str, upload_dir: Path | None = None, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SUPPRESS_SEND": True,
        # Mail waits in the outbox until a test delivers it (record_mail) or runs a worker.
        "MAIL_DELIVERY": "worker",
        "PAGE_CACHE_ENABLED": False,
        # The too-fast-to-be-human comment check is off unless a test turns it on.
        "COMMENT_MIN_SECONDS": 0,
        "SERVER_NAME": None,
        # Staff must enrol in two-factor in production; only the tests about it turn it on,
        # so the many tests that sign in an author aren't about enrolment.
        "TWO_FACTOR_REQUIRED_ROLES": (),
        # The test client's own address: links in pages and emails point here.
        "SITE_URL": "http://localhost",
    }
    if upload_dir is not None:
        config["UPLOAD_DIR"] = str(upload_dir)
    config.update(extra)
    return config


def csrf_token(client: FlaskClient, path: str | None = None) -> str:
    """The CSRF token a person's browser would hold: read from the form on path, or made.

    Without a path no page is fetched: the token is made as Flask-WTF makes it (a secret
    in the client's session, signed with the app's key and Flask-WTF's salt), so it is
    checked exactly like one from a form, for the price of no request.
    """
    if path is not None:
        response = client.get(path)
        match = CSRF_INPUT.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)
    app = client.application
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    with client.session_transaction() as session:
        secret = session.setdefault(field, secrets.token_hex(20))
    key = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(secret)


def post_form(client: FlaskClient, url: str, data: dict | None = None, **kwargs):
    """POST like a browser: with a valid CSRF token for its session (no GET first)."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def empty_tables(app) -> None:
    """End a test's use of its database: PostgreSQL tables are shared, so empty them."""
    from sqlalchemy import text

    from blogapp import outbox
    from blogapp.extensions import db

    outbox.stop_thread(app)
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # DELETE, not TRUNCATE: a TRUNCATE of every table costs ~80 ms (new files for
            # each), a DELETE of a few rows well under 5, and this runs after every test.
            # With the foreign-key triggers off (the test role is a superuser) the order of
            # the tables doesn't matter; the sequences restart as TRUNCATE's RESTART
            # IDENTITY would.
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in db.metadata.sorted_tables:
                    conn.execute(text(f'DELETE FROM "{table.name}"'))
                conn.execute(text(RESTART_SEQUENCES))
        db.engine.dispose()


RESTART_SEQUENCES = """
SELECT setval(c.oid::regclass, s.seqstart, false)
FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace
"""


@contextlib.contextmanager
def shared_app(request, tmp_path_factory, name: str) -> Iterator:
    """An app for data a module builds once and its tests only read (request.param: the
    database). PostgreSQL gets a database of its own: the shared test database is emptied
    after each of the module's other tests, which may run while this one is in use."""
    import shutil

    from tests.member_roles import own_app
    from tests.servers import own_postgres_database

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp(name) / "blog.sqlite3"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(own_postgres_database(f"blog{name}"))
        uploads = tmp_path_factory.mktemp(f"{name}-uploads")
        yield stack.enter_context(own_app(url, upload_dir=uploads))


def empty_site_fixture(name: str):
    """A module's `empty_site` fixture: a site with nothing in it, once per database, for
    requests that only read (odd paths and the like)."""
    import pytest

    from tests.conftest import BACKENDS

    @pytest.fixture(scope="module", params=BACKENDS)
    def empty_site(request, tmp_path_factory):
        with shared_app(request, tmp_path_factory, name) as app, kept_as_is(app):
            yield app

    return empty_site


@contextlib.contextmanager
def kept_as_is(app, leave_out: tuple[str, ...] = ()) -> Iterator[None]:
    """Fails at the end if any table's rows changed (but those left out): the proof that
    tests sharing data only read it, since a write would change what the next one reads."""

    def rows() -> dict:
        from sqlalchemy import select

        from blogapp.extensions import db

        with app.app_context():
            return {
                table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
                for table in db.metadata.sorted_tables
                if table.name not in leave_out
            }

    before = rows()
    yield
    assert rows() == before, "a test changed the data its module shares: give it its own"


def signed_in_session_id(app, user_id: int) -> str:
    """What Flask-Login keeps in the session for a sign-in ("id:version:token"), made through
    the session-record service without the slow password check."""
    from datetime import timedelta

    from blogapp.auth import sessions
    from blogapp.extensions import db
    from blogapp.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        _, token, _ = sessions.start(
            user, user_agent="test client", address="127.0.0.0", lifetime=timedelta(days=1)
        )
        user.session_token = token
        return user.get_id()


def sign_in_fast(client: FlaskClient, app, user_id: int) -> None:
    """Sign the client in as the user by writing its session (a real, live session record)."""
    session_id = signed_in_session_id(app, user_id)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def _end_test_transaction() -> None:
    """Signing in writes a session record. A test holding `ctx` may have a SQLite read
    transaction open from before it; that snapshot could never write again ("database is
    locked"), so it is ended here and the test's next query sees the database afresh."""
    from flask import has_app_context

    from blogapp.extensions import db

    if has_app_context():
        db.session.commit()


def deliver_mail(app) -> int:
    """Run one worker pass in this process: what the outbox holds is sent now."""
    from blogapp import outbox

    with app.app_context():
        return outbox.run_once("test-worker")


@contextlib.contextmanager
def record_mail(app) -> Iterator[list]:
    """Flask-Mail's recorder around a block, delivering the outbox at its end.

    Mail queued before the block is delivered first, outside the recording.
    """
    from blogapp.extensions import mail

    deliver_mail(app)
    with mail.record_messages() as messages:
        yield messages
        deliver_mail(app)


class AuthActions:
    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, login: str, password: str = "", remember: bool = False, follow: bool = False):
        from tests.builders import PASSWORD

        data = {"login": login, "password": password or PASSWORD}
        if remember:
            data["remember"] = "y"
        response = post_form(self.client, "/auth/login", data, follow_redirects=follow)
        _end_test_transaction()
        return response

    def logout(self):
        return post_form(self.client, "/auth/logout")
