"""Invalidation: a SQLAlchemy session listener bumps the generation on commits readers see.

Every writer — views, CLI, importer — goes through a session, so none has to remember to
invalidate anything.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

# Changes to these tables never show on a public page. The account-security ones too: a
# sign-in, and each signed-in reader's once-a-minute session touch, used to invalidate
# every page (and every shared page) for everyone.
TABLES_NOT_SHOWN = frozenset(
    {"subscriptions", "outbox", "newsletters", "subscribers", "subscriber_categories"}
    | {"user_sessions", "totp_secrets", "recovery_codes", "passkeys"}
)
# A user's row shows on pages only through these columns (and by existing at all).
# credentials, avatar and role (its comment badge) show in author boxes and threads (issue 17).
USER_SHOWN_FIELDS = (
    "username", "display_name", "bio", "bio_html", "credentials", "avatar", "role"
)  # fmt: skip
_DIRTY = "page_cache_dirty"
_TEXT_DML = re.compile(r"^\s*(insert|update|delete|replace)\b", re.IGNORECASE)
_listening = False


def bump_generation(app: Flask | None = None) -> None:
    """Invalidate every cached page (done automatically on commits that change content)."""
    cache = (app or current_app).extensions.get("page_cache")
    if cache is not None:
        cache.store.bump()


def listen_for_changes() -> None:
    """Install the session listeners (once per process: they are global to Session)."""
    global _listening
    if _listening:
        return
    _listening = True
    event.listen(Session, "after_flush", _note_changes)
    event.listen(Session, "do_orm_execute", _note_statement)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)


def _note_changes(session: Session, flush_context) -> None:
    """Mark the session when this flush changed anything a reader can see."""
    if session.info.get(_DIRTY):
        return
    from ..models import User

    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table in TABLES_NOT_SHOWN:
            continue
        if isinstance(obj, User):
            if obj in session.new:
                continue  # a new account shows nowhere until it writes something
            if obj not in session.deleted:
                state = inspect(obj)
                if not any(state.attrs[name].history.has_changes() for name in USER_SHOWN_FIELDS):
                    continue
        session.info[_DIRTY] = True
        return


def _note_statement(state) -> None:
    """Bulk UPDATE/DELETE/INSERT run through the session count as changes too."""
    if state.is_select:
        return
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table is not None:
        if table not in TABLES_NOT_SHOWN:
            state.session.info[_DIRTY] = True
    elif state.is_update or state.is_delete or state.is_insert:
        state.session.info[_DIRTY] = True
    elif _TEXT_DML.match(str(statement)):
        state.session.info[_DIRTY] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False) and has_app_context():
        bump_generation()


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction was rolled back
        session.info.pop(_DIRTY, None)
