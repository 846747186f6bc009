"""The audit log: every staff action, appended in the same transaction as the change.

Services call ``record(actor, action, target, detail)`` just before they commit, so an
action and its entry are stored together or not at all. Nothing changes or removes an
entry: the ORM refuses it (see ``_refuse_changes``) and no page offers it.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEntry, User


class Action(enum.StrEnum):
    """Every kind of entry, with the words the log page shows."""

    PUBLISH = "publish"
    SCHEDULE = "schedule"
    PUBLISH_FIX = "publish_fix"
    UNPUBLISH = "unpublish"
    DELETE = "delete"
    RESTORE = "restore"
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    ROLE_CHANGE = "role_change"
    REVIEWER_CHANGE = "reviewer_change"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    COMMENT_APPROVE = "comment_approve"
    COMMENT_SPAM = "comment_spam"
    COMMENT_DELETE = "comment_delete"
    SETTINGS_CHANGE = "settings_change"
    CATEGORY_CHANGE = "category_change"
    IMPORT = "import"
    EXPORT = "export"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def record(
    actor: User | None,
    action: str,
    target: object | None = None,
    detail: str = "",
    *,
    label: str | None = None,
) -> AuditEntry:
    """Append an entry to the session (the caller's commit stores it with the change).

    actor: who did it (None for the command line). target: the model object acted on, if
    any; its table, id and a readable label are copied, so the entry outlives it.
    """
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=(actor.username if actor is not None else "command line")[:80],
        action=Action(action).value,
        target_type=getattr(target, "__tablename__", "") if target is not None else "",
        target_id=getattr(target, "id", None),
        target_label=(label if label is not None else _label(target))[:300],
        detail=detail[:5000],
    )
    db.session.add(entry)
    return entry


def _label(target: object | None) -> str:
    for name in ("title", "username", "name", "key"):
        value = getattr(target, name, None)
        if isinstance(value, str):
            return value
    return ""


def entries(
    person: str = "", action: str = "", since: date | None = None, until: date | None = None
) -> Select:
    """The log newest first, filtered by who (username, part of it), action and day range."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if person:
        escaped = person.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEntry.actor_name.ilike(f"%{escaped}%", escape="\\"))
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.created_at >= _start_of(since))
    if until:
        query = query.where(AuditEntry.created_at < _start_of(until + timedelta(days=1)))
    return query


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _refuse_changes(session: Session, flush_context, instances) -> None:
    """Fail closed: an entry that is about to be changed or deleted stops the flush."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("audit log entries are never changed or deleted")


event.listen(Session, "before_flush", _refuse_changes)
