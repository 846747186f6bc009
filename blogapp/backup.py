"""Backups: SQLite online backup, a JSON export of every table, and its import.

`backup DEST` copies a live SQLite database with SQLite's online backup API (readers and
writers carry on meanwhile). PostgreSQL has no such API from here, so on PostgreSQL
`backup` writes the JSON export instead (use pg_dump for a native dump). `export FILE`
works on either database; `import-json FILE` loads an export into an empty, migrated
database (either kind: an export from SQLite restores into PostgreSQL and back).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import Date, Integer, Table, func, select, text
from sqlalchemy.engine import Connection

from .extensions import db
from .models import UTCDateTime

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


def _from_json(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value


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
    data = export_data()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
    return {name: len(table["rows"]) for name, table in data["tables"].items()}


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
    """Load an export into this database, whose tables must all be empty."""
    known = {table.name: table for table in data_tables()}
    unknown = set(data["tables"]) - set(known)
    if unknown:
        raise BackupError(f"the export has tables this schema lacks: {', '.join(sorted(unknown))}")
    counts: dict[str, int] = {}
    with db.engine.begin() as connection:
        for table in known.values():
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(
                    f"table {table.name} already holds rows: import into an empty database"
                )
        for table in known.values():
            dumped = data["tables"].get(table.name)
            if not dumped:
                continue
            columns = [table.c[name] for name in dumped["columns"] if name in table.c]
            places = [(column, dumped["columns"].index(column.name)) for column in columns]
            rows = [
                {column.name: _from_json(column, row[i]) for column, i in places}
                for row in dumped["rows"]
            ]
            if rows:
                connection.execute(table.insert(), rows)
            counts[table.name] = len(rows)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
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
