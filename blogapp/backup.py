"""Backups: SQLite online backup, a JSON export of every table, and its import.

`backup DEST` copies a live SQLite database with SQLite's online backup API (readers and
writers carry on meanwhile). PostgreSQL has no such API from here, so on PostgreSQL
`backup` writes the JSON export instead (use pg_dump for a native dump). `export FILE`
works on either database; `import-json FILE` loads an export into an empty, migrated
database (either kind: an export from SQLite restores into PostgreSQL and back).
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Integer,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection

from . import audit
from .extensions import db
from .inputs import EARLIEST, INT_MAX, LATEST, single_line
from .markup import render_comment, render_comment_html, render_description
from .models import CommentStatus, Post, PostKind, PostStatus, Role, UTCDateTime

FORMAT = "alliedup-blog-export"
VERSION = 1


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


def data_tables() -> list[Table]:
    """Every table of the data model, parents before children."""
    return list(db.metadata.sorted_tables)


def _stored_columns(table: Table) -> list:
    # Computed (generated) columns are derived by the database and cannot be inserted.
    return [column for column in table.columns if column.computed is None]


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# Columns that hold one of a few words: an export naming another is refused.
CHOICES = {
    ("users", "role"): {str(v) for v in Role},
    ("posts", "kind"): {str(v) for v in PostKind},
    ("posts", "status"): {str(v) for v in PostStatus},
    ("posts", "body_format"): {"markdown", "html"},
    ("comments", "status"): {str(v) for v in CommentStatus},
}
TEXT_LIMIT = 5_000_000  # characters in an unbounded text column (a long post is 200,000)


def _from_json(table: Table, column, value: Any) -> Any:
    """The value to store for column, checked; ValueError says what is wrong with it."""
    kind = column.type
    if value is None:
        if not column.nullable:
            raise ValueError("is empty (null) but is required")
        return None
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r:.40}")
        return value
    if isinstance(kind, Integer):
        bound = 2**63 - 1 if isinstance(kind, BigInteger) else INT_MAX
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {value!r:.40}")
        if not -bound - 1 <= value <= bound:
            raise ValueError(f"is out of range ({value})")
        return value
    if isinstance(kind, UTCDateTime | DateTime | Date):
        return _when(kind, value)
    if isinstance(kind, String):  # Text too
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {value!r:.40}")
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        limit = kind.length or TEXT_LIMIT
        if len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        choices = CHOICES.get((table.name, column.name))
        if isinstance(kind, Enum):
            choices = set(kind.enums)
        if choices is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(sorted(choices))}, not {value!r:.40}")
        # Bounded text is one line (titles, names, addresses): no control characters.
        return single_line(value) if kind.length else value
    return value


def _when(kind, value: Any) -> date | datetime:
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO date, not {value!r:.40}")
    try:
        parsed = (
            date.fromisoformat(value) if isinstance(kind, Date) else datetime.fromisoformat(value)
        )
    except ValueError:
        raise ValueError(f"is not an ISO date: {value!r:.40}") from None
    if isinstance(kind, UTCDateTime) and parsed.tzinfo is None:
        raise ValueError(f"has no time zone: {value!r:.40}")
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"is not between {EARLIEST.year} and {LATEST.year}: {value!r:.40}")
    return parsed


def _rows_of(table: Table, dumped: Any) -> list[dict]:
    """The export's rows for table as checked column values (BackupError names the problem)."""
    if not isinstance(dumped, dict) or not isinstance(dumped.get("columns"), list):
        raise BackupError(f"{table.name}: not a table of columns and rows")
    names, raw_rows = dumped["columns"], dumped.get("rows")
    if not isinstance(raw_rows, list):
        raise BackupError(f"{table.name}: rows must be a list")
    for name in names:
        if not isinstance(name, str) or name not in table.c:
            raise BackupError(f"{table.name}: column {name!r} is not in this schema")
    for column in table.c:
        required = not column.nullable and column.default is None
        if required and column.server_default is None and column.name not in names:
            if not (column.primary_key and column.autoincrement):
                raise BackupError(f"{table.name}: required column {column.name} is missing")
    rows = []
    for number, raw in enumerate(raw_rows, start=1):
        where = f"{table.name} row {number}"
        if not isinstance(raw, list) or len(raw) != len(names):
            raise BackupError(
                f"{where}: has {len(raw) if isinstance(raw, list) else 'no'} "
                f"values for {len(names)} columns"
            )
        row = {}
        for name, value in zip(names, raw, strict=True):
            try:
                row[name] = _from_json(table, table.c[name], value)
            except ValueError as problem:
                key = f" (id {raw[names.index('id')]})" if "id" in names else ""
                raise BackupError(f"{where}{key}: {name} {problem}") from None
        rows.append(_rendered(table.name, row))
    return rows


def _rendered(table_name: str, row: dict) -> dict:
    """HTML made again from the row's own source: the export's HTML is never trusted."""
    from .posts.services import render_content
    from .wordpress import content

    if table_name == "posts" and "body_md" in row:
        post = Post(
            body_md=row["body_md"] or "",
            body_format=row.get("body_format") or "markdown",
            excerpt=row.get("excerpt") or "",
        )
        render_content(post)
        row.update(
            body_html=post.body_html,
            toc_json=post.toc_json,
            summary=post.summary,
            word_count=post.word_count,
            body_text=post.body_text,
        )
    elif table_name == "comments" and "body_md" in row:
        source = row["body_md"] or ""
        if not source:
            row["body_html"] = ""  # a deleted comment kept as a placeholder
        elif row.get("wp_id") is not None:  # imported from WordPress: its HTML, cleaned
            row["body_html"] = render_comment_html(content.comment_html(source))
        else:
            row["body_html"] = render_comment(source)
    elif table_name == "users" and "bio" in row:
        row["bio_html"] = render_comment(row["bio"]) if row["bio"] else ""
    elif table_name == "categories" and "description" in row:
        row["description_html"] = render_description(row["description"] or "")
    return row


def _check_references(tables: dict[str, list[dict]]) -> None:
    """Every foreign key in the export names a row the export holds (or is empty)."""
    for table in data_tables():
        for key in table.foreign_keys:
            column, target = key.parent, key.column
            if target.table.name not in tables and target.table.name != table.name:
                continue
            known = {row.get(target.name) for row in tables.get(target.table.name, [])}
            for number, row in enumerate(tables.get(table.name, []), start=1):
                value = row.get(column.name)
                if value is not None and value not in known:
                    raise BackupError(
                        f"{table.name} row {number} (id {row.get('id')}): {column.name} {value} "
                        f"names no row of {target.table.name}"
                    )


def _schema_revision(connection: Connection) -> str | None:
    try:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database made without migrations has no such table
        connection.rollback()
        return None


def export_data() -> dict:
    """Every row of every table, as JSON-ready values, read in one transaction."""
    with db.engine.connect() as connection:
        tables = {}
        for table in data_tables():
            columns = _stored_columns(table)
            order = [column for column in table.primary_key.columns] or columns
            rows = connection.execute(select(*columns).order_by(*order))
            tables[table.name] = {
                "columns": [column.name for column in columns],
                "rows": [[_to_json(value) for value in row] for row in rows],
            }
        revision = _schema_revision(connection)
    return {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": revision,
        "database": db.engine.dialect.name,
        "tables": tables,
    }


def write_export(path: str | Path) -> dict[str, int]:
    """Write the JSON export to path; returns the row count of each table."""
    audit.record(None, audit.Action.EXPORT, detail=str(path))  # the export holds its own entry
    db.session.commit()
    data = export_data()
    with os.fdopen(_private_file(path, exclusive=False), "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
    return {name: len(table["rows"]) for name, table in data["tables"].items()}


def _private_file(path: str | Path, exclusive: bool = True) -> int:
    """A descriptor for writing path, readable by its owner alone (0600): exports and
    backups hold every account's email and password hash."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # an existing file would keep its old mode through O_TRUNC
    return fd


def read_export(path: str | Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise BackupError(f"{path} is not a readable JSON export: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path} is not an export made by `flask export`")
    if data.get("version") != VERSION:
        raise BackupError(f"{path} is export version {data.get('version')}, not {VERSION}")
    return data


def import_data(data: dict) -> dict[str, int]:
    """Load an export into this database, whose tables must all be empty.

    Every row is checked first (types, lengths, enums, dates, references) and all HTML is
    made again from its source, so a bad or tampered file stops, naming the row and field,
    before anything is written; then everything goes in one transaction.
    """
    known = {table.name: table for table in data_tables()}
    if not isinstance(data.get("tables"), dict):
        raise BackupError("the export holds no tables")
    unknown = set(data["tables"]) - set(known)
    if unknown:
        raise BackupError(f"the export has tables this schema lacks: {', '.join(sorted(unknown))}")
    checked = {
        name: _rows_of(table, data["tables"][name])
        for name, table in known.items()
        if data["tables"].get(name)
    }
    _check_references(checked)
    counts: dict[str, int] = {}
    with db.engine.begin() as connection:
        for table in known.values():
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(
                    f"table {table.name} already holds rows: import into an empty database"
                )
        for table in known.values():
            if table.name not in checked:
                continue
            rows = checked[table.name]
            if rows:
                connection.execute(table.insert(), rows)
            counts[table.name] = len(rows)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
    audit.record(None, audit.Action.IMPORT, detail=f"JSON export ({sum(counts.values())} rows)")
    db.session.commit()
    return counts


def _reset_sequences(connection: Connection) -> None:
    """After inserting explicit ids, PostgreSQL's sequences must continue past them."""
    for table in data_tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, Integer):
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": key[0].name},
        ).scalar()
        if sequence is None:
            continue
        highest = connection.execute(select(func.max(key[0]))).scalar()
        connection.execute(
            text("SELECT setval(:sequence, :value, :called)"),
            {"sequence": sequence, "value": highest or 1, "called": highest is not None},
        )


def sqlite_backup(dest: str | Path) -> None:
    """Copy the live SQLite database to dest with the online backup API."""
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new file name")
    os.close(_private_file(dest))  # made 0600 before SQLite writes a byte into it
    raw = db.engine.raw_connection()
    try:
        target = sqlite3.connect(dest)
        try:
            raw.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        raw.close()


def sqlite_restore(source: str | Path) -> None:
    """Copy a backup made by sqlite_backup over the live SQLite database, online."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if origin.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{source} is not a sound SQLite database")
        db.engine.dispose()
        raw = db.engine.raw_connection()
        try:
            origin.backup(raw.driver_connection)
        finally:
            raw.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} is not a SQLite backup: {error}") from None
    finally:
        origin.close()
    db.engine.dispose()


def backup(dest: str | Path) -> str:
    """Back up to dest: a SQLite file on SQLite, the JSON export on PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        sqlite_backup(dest)
        return "sqlite"
    if Path(dest).exists():
        raise BackupError(f"{dest} already exists; choose a new file name")
    write_export(dest)
    return "json"


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(dest):
    """Back up the database to DEST (SQLite: online copy; PostgreSQL: JSON export)."""
    try:
        kind = backup(dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    if kind == "sqlite":
        click.echo(f"Backed up the SQLite database to {dest} (restore with `flask restore`).")
    else:
        click.echo(
            f"PostgreSQL: wrote the JSON export to {dest} (restore with `flask import-json`; "
            "for a native dump use pg_dump)."
        )


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@with_appcontext
def restore_command(source):
    """Replace the SQLite database with a backup made by `flask backup`."""
    if db.engine.dialect.name != "sqlite":
        raise click.ClickException("restore takes SQLite backups; use import-json on PostgreSQL")
    try:
        sqlite_restore(source)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored the database from {source}.")


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def export_command(file):
    """Write every table as JSON to FILE (either database)."""
    counts = write_export(file)
    click.echo(f"Exported {sum(counts.values())} rows from {len(counts)} tables to {file}.")


@click.command("import-json")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@with_appcontext
def import_json_command(file):
    """Load a JSON export into an empty, migrated database (`flask db upgrade` first)."""
    try:
        counts = import_data(read_export(file))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Imported {sum(counts.values())} rows into {len(counts)} tables from {file}.")
