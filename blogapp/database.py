"""Database connection settings: SQLite pragmas and write transactions that queue, not fail."""

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection, connection_record) -> None:
    # We issue BEGIN ourselves (below), so the driver must not start transactions on its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
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
    immediate = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"
