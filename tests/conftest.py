"""Fixtures: an app per test on SQLite and on PostgreSQL, clients, builders, auth helper.

Each database is migrated once per session (the real Alembic migrations, so FTS tables
and triggers exist); each test then gets a fresh copy (SQLite) or emptied tables
(PostgreSQL, in a database of its own so parallel runs never meet).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade

from blogapp import create_app
from blogapp.extensions import db
from tests import helpers

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database of this session's own, migrated, dropped at the end."""
    from tests.servers import own_postgres_database

    with own_postgres_database("blogtest") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "blog.sqlite3"
    app = create_app(helpers.test_config(f"sqlite:///{path}"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "blog.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(helpers.test_config(database_url, upload_dir=tmp_path / "uploads"))
    yield app
    helpers.empty_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for tests that build data directly."""
    with app.app_context():
        yield


@pytest.fixture
def auth(client):
    return helpers.AuthActions(client)


# -- running in parallel (pytest -n auto; pyproject sets --dist loadgroup) ---------------

# The longest tests first: the workers take work in this order, so the two halves of the
# hostile-input run start at once on different workers, the other system tests follow,
# and the thousands of quick tests fill in around them (longest-first keeps the workers
# finishing together).
LONGEST_FIRST = (
    "tests/browser/test_hostile_input.py::test_hostile_input_through_every_field",
    "tests/test_concurrency.py",
    "tests/test_outage.py",
    "tests/test_two_servers.py",
    "tests/test_no_server_errors.py",
    "tests/browser/test_seo_lighthouse.py",
    "tests/browser/",
    "tests/test_email_flow.py",
    "tests/test_static_checks.py",
)
# Modules whose module-scoped fixtures start servers or clusters: one worker runs them all,
# so they are started once rather than once per worker.
ONE_WORKER = ("tests/test_outage.py", "tests/test_two_servers.py", "tests/test_no_server_errors.py")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        nodeid = item.nodeid
        return next(
            (n for n, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)),
            len(LONGEST_FIRST),
        )

    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
    items.sort(key=rank)  # stable: the usual order within each rank


@pytest.fixture
def cached_app(database_url, tmp_path):
    """An app with the page cache on (a generation file of this test's own)."""
    app = create_app(
        helpers.test_config(
            database_url,
            upload_dir=tmp_path / "uploads",
            PAGE_CACHE_ENABLED=True,
            PAGE_CACHE_GENERATION_FILE=str(tmp_path / "generation"),
        )
    )
    yield app
    helpers.empty_tables(app)
