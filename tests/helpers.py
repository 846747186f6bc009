"""Test helpers: configuration, CSRF tokens from real pages, signing in."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from flask.testing import FlaskClient

SECRET = "test-secret-key-not-for-production"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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
        # The test client's own address: links in pages and emails point here.
        "SITE_URL": "http://localhost",
    }
    if upload_dir is not None:
        config["UPLOAD_DIR"] = str(upload_dir)
    config.update(extra)
    return config


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """The CSRF token a person's browser would hold, read from a page's form."""
    response = client.get(path)
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: dict | None = None, **kwargs):
    """POST like a browser: with the CSRF token from a real page."""
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
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


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
        return post_form(self.client, "/auth/login", data, follow_redirects=follow)

    def logout(self):
        return post_form(self.client, "/auth/logout")
