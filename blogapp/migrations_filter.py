"""Database objects that migrations manage by hand and autogenerate must leave alone."""

# Full-text search tables and their shadow tables (SQLite FTS5) are created in migrations.
HAND_MADE_TABLE_PREFIXES = ("posts_fts",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and name and name.startswith(HAND_MADE_TABLE_PREFIXES):
        return False
    return True
