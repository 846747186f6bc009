"""Admin: the audit log, read only: filter by person, action and dates; paged."""

from __future__ import annotations

from datetime import date

from flask import render_template, request

from .. import audit as audit_log
from .. import database
from ..permissions import admin_required
from . import bp

PER_PAGE = 50


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat((request.args.get(name) or "")[:10])
    except ValueError:
        return None


@bp.get("/audit")
@admin_required
def audit():
    person = (request.args.get("person") or "").strip()[:80]
    action = request.args.get("action") or ""
    action = action if action in {a.value for a in audit_log.Action} else ""
    since, until = _day("since"), _day("until")
    number = request.args.get("page", 1, type=int)
    number = number if 1 <= number <= 100_000 else 1
    page = database.paginate(
        audit_log.entries(person, action, since, until), number, PER_PAGE, error_out=False
    )
    filters = {"person": person, "action": action, "since": since, "until": until}
    return render_template(
        "admin/audit.html",
        page=page,
        filters=filters,
        actions=list(audit_log.Action),
        args={k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v},
    )
