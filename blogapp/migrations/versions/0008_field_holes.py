"""field holes

Category descriptions get a rendered, sanitized `description_html` (they were printed as
typed). On SQLite every table with an integer id is rebuilt with AUTOINCREMENT, so a
deleted row's id is never given to the next one (an emailed link for a deleted comment
would otherwise act on its successor). PostgreSQL sequences never reuse ids already.

A table added by a later migration should be created with `sqlite_autoincrement=True`
(the models give every table that option; tests/test_ids.py checks the live schema).

Revision ID: 0008
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text

import blogapp.models

revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def _tables_with_integer_ids(bind) -> list[str]:
    """Every table whose key is one integer column (the search index and Alembic's aside)."""
    inspector = sa.inspect(bind)
    found = []
    for table in inspector.get_table_names():
        if table.startswith('posts_fts') or table == 'alembic_version':
            continue
        key = inspector.get_pk_constraint(table)['constrained_columns']
        columns = {c['name']: c for c in inspector.get_columns(table)}
        borrowed = {c for fk in inspector.get_foreign_keys(table) for c in fk['constrained_columns']}
        if len(key) == 1 and isinstance(columns[key[0]]['type'], sa.Integer) and not borrowed & set(key):
            found.append(table)
    return found


def upgrade():
    op.add_column(
        'categories',
        sa.Column('description_html', sa.Text(), nullable=False, server_default=''),
    )
    _render_descriptions()
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild(autoincrement=True)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild(autoincrement=False, drop=('categories', 'description_html'))
    else:
        op.drop_column('categories', 'description_html')


def _render_descriptions():
    from blogapp.markup import render_description

    bind = op.get_bind()
    rows = bind.execute(text('SELECT id, description FROM categories')).all()
    for category_id, description in rows:
        bind.execute(
            text('UPDATE categories SET description_html = :html WHERE id = :id'),
            {'html': render_description(description or ''), 'id': category_id},
        )


def _rebuild(autoincrement: bool, drop: tuple[str, str] | None = None):
    """Rebuild each table as SQLite's ALTER TABLE guide says: foreign keys off meanwhile.

    With them on, dropping the old `users` would cascade to (or be refused by) every row
    that names a user. The pragma only takes effect outside a transaction, so the one
    Alembic opened is committed first; the rebuild then runs in a transaction of its own,
    checked with foreign_key_check before it commits. The search triggers (0002_search)
    are dropped first and made again after: a trigger naming a table being swapped stops
    SQLite renaming the new copy into place, and dropping a table drops its triggers.
    """
    bind = op.get_bind()
    bind.exec_driver_sql('COMMIT')
    bind.exec_driver_sql('PRAGMA foreign_keys=OFF')
    bind.exec_driver_sql('BEGIN')
    search = op.get_context().script.get_revision('0002').module
    try:
        for statement in search.SQLITE_DOWN:
            if statement.startswith('DROP TRIGGER'):
                bind.exec_driver_sql(statement)
        for table in _tables_with_integer_ids(bind):
            with op.batch_alter_table(
                table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
            ) as batch_op:
                if drop and drop[0] == table:
                    batch_op.drop_column(drop[1])
        for statement in search.SQLITE_UP:
            if statement.lstrip().startswith('CREATE TRIGGER'):
                bind.exec_driver_sql(statement)
        problems = bind.exec_driver_sql('PRAGMA foreign_key_check').all()
        if problems:
            raise RuntimeError(f'foreign keys broken by the rebuild: {problems[:5]}')
        bind.exec_driver_sql('COMMIT')
    except BaseException:
        bind.exec_driver_sql('ROLLBACK')
        raise
    finally:
        bind.exec_driver_sql('PRAGMA foreign_keys=ON')
        bind.exec_driver_sql('BEGIN')  # for Alembic's own commit of the version number
