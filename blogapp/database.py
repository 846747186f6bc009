"""Database connection settings: SQLite pragmas and write transactions that queue, not fail."""

import contextlib
import logging
from contextvars import ContextVar

from flask import Flask, has_request_context, request
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Executable, Row, Select, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

log = logging.getLogger(__name__)
# Set by writing(): transactions begun meanwhile take SQLite's write lock at BEGIN.
_writing: ContextVar[bool] = ContextVar("writing", default=False)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(
            engine, "connect", lambda dbapi, record: _sqlite_connect(dbapi, record, busy_ms)
        )
        event.listen(engine, "begin", _sqlite_begin)


def _end_session(error: BaseException | None = None) -> None:
    """Return the request's connection; if the database died meanwhile, drop it quietly.

    Runs before Flask-SQLAlchemy's own teardown, whose ROLLBACK on a connection the server
    has just terminated would raise outside every error handler: the finished page would
    become a bare 500. Invalidating discards the dead connection without talking to it.
    """
    try:
        db.session.remove()
    except SQLAlchemyError:
        log.warning("database connection lost at the end of a request")
        try:
            db.session.registry().invalidate()
        except SQLAlchemyError:
            log.warning("could not discard the lost connection", exc_info=True)
        db.session.registry.clear()


def _sqlite_connect(dbapi_connection, connection_record, busy_ms: int = 10000) -> None:
    # We issue BEGIN ourselves (below), so the driver must not start transactions on its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    # WAL lets readers run beside a writer; the busy timeout makes writers queue.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    """POST requests take the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can't wait for a concurrent writer:
    SQLite fails it at once with "database is locked", whatever the busy timeout. Taking
    the lock at BEGIN makes concurrent writers queue for busy_timeout instead; GET
    requests stay deferred, so readers never block.
    """
    immediate = _writing.get() or (
        has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
    )
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def writing():
    """Work outside a request that reads and then writes (the mail worker): on SQLite its
    transactions begin IMMEDIATE, so concurrent writers queue instead of failing."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"


class CountedPage(SelectPagination):
    """Flask-SQLAlchemy's page of results, counted the cheap way.

    Flask-SQLAlchemy counts ``SELECT count(*) FROM (<the query, every column>)``; this
    counts over the query's own FROM and WHERE, which is several times faster on both
    databases. Right for queries that yield one row per item (no DISTINCT or GROUP BY),
    which is every list here.
    """

    def _query_count(self) -> int:
        query: Select = self._query_args["select"]
        counted = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        return self._query_args["session"].execute(counted).scalar() or 0


def paginate(query: Select, page: int, per_page: int, error_out: bool = True) -> CountedPage:
    """One page of a query; with error_out, 404 for a page past the last."""
    return CountedPage(
        select=query,
        session=db.session(),
        page=page,
        per_page=per_page,
        max_per_page=None,
        error_out=error_out,
    )


def rows(statement: Executable, params: dict) -> list[Row]:
    """The rows of a Core statement built once with bind parameters.

    Run on the session's connection (same transaction), not through the session: plain
    rows don't need the ORM's per-statement work, which cost as much as the query itself.
    """
    return db.session.connection().execute(statement, params).all()
