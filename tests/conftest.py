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
from flask import Flask
from flask_migrate import upgrade
from jinja2 import BytecodeCache

from blogapp import create_app
from blogapp.extensions import db
from tests import helpers


def _reuse_url_builders() -> None:
    """Compile each URL rule's builder once per process, not once per app.

    Every test makes its own app, and Werkzeug compiles two builder functions (Python
    source, via ast) for each of ~90 rules on every app: about two thirds of create_app's
    time, some 30,000 apps a run. A builder's code depends only on the rule's parts and
    defaults, and it reads the rule's converters through `self` when called, so the
    compiled function is shared and bound to each new rule as Werkzeug binds it.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict = {}

    def _compile_builder(self, append_unknown=True):
        defaults = tuple(sorted((k, repr(v)) for k, v in (self.defaults or {}).items()))
        converters = tuple((k, type(c), c.regex) for k, c in self._converters.items())
        key = (tuple(self._trace), defaults, converters, append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = _compile_builder


_reuse_url_builders()


class _SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for every app of the process.

    Each app has its own Jinja environment, so each test compiled every template it drew
    (about 180 ms a test, a third of the suite's time). Jinja keys the code by template
    name and a checksum of the source, so a changed template is compiled anew; every test
    app's environment has the same options (blogapp.templating), so the code fits each.
    """

    def __init__(self):
        self.code: dict = {}

    def load_bytecode(self, bucket):
        bucket.code = self.code.get((bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket):
        self.code[(bucket.key, bucket.checksum)] = bucket.code


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedTemplateCode()}


class _SharedCompiledSQL:
    """SQLAlchemy's compiled statements kept for every engine of the process.

    Each test app has its own engine, and an engine's statement cache starts empty, so
    every test compiled every query it ran (SQL compilation was ~40% of a typical test's
    time). SQLAlchemy keys a compiled statement by the dialect object, the statement's
    cache key and its column keys; engines of one database kind have equal dialects (same
    class, same server version), so the key here puts the dialect's kind in its place.
    """

    def __init__(self):
        self.entries: dict = {}

    @staticmethod
    def _key(key: tuple) -> tuple:
        dialect = key[0]
        kind = (type(dialect), dialect.server_version_info, dialect.label_length)
        return (kind, *key[1:])

    def get(self, key, default=None):
        return self.entries.get(self._key(key), default)

    def __setitem__(self, key, value):
        self.entries[self._key(key)] = value

    def __len__(self):
        return len(self.entries)

    def clear(self):
        self.entries.clear()


def _share_compiled_sql() -> None:
    from flask_sqlalchemy import SQLAlchemy

    make_engine = SQLAlchemy._make_engine
    shared = _SharedCompiledSQL()

    def _make_engine(self, bind_key, options, app):
        engine = make_engine(self, bind_key, options, app)
        if engine._compiled_cache is not None:  # a cache was asked for (the default)
            engine._compiled_cache = shared
        return engine

    SQLAlchemy._make_engine = _make_engine


_share_compiled_sql()

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

# The longest tests first: the workers take work in this order, so the two load tests
# (SQLite and PostgreSQL) start at once on different workers, then the two halves of the
# hostile-input run, the other system tests follow, and the thousands of quick tests fill
# in around them (longest-first keeps the workers finishing together).
LONGEST_FIRST = (
    "tests/test_concurrency.py",
    "tests/browser/test_hostile_input.py::test_hostile_input_through_every_field",
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
