"""Admin: newsletter subscribers (counts, search, CSV) and every issue's delivery state."""

from __future__ import annotations

import csv
import io

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import case, func, select

from .. import database
from ..auth.forms import ButtonForm
from ..extensions import db
from ..models import Newsletter, OutboxMessage, OutboxStatus, Post, PostKind, PostStatus
from ..newsletter import mails, services
from ..permissions import admin_required
from . import bp

PER_PAGE = 50


def _filters() -> tuple[str, str]:
    return request.args.get("q", "")[:100], request.args.get("status", "")[:20]


@bp.get("/subscribers")
@admin_required
def subscribers():
    query, status = _filters()
    number = request.args.get("page", 1, type=int)
    number = number if 1 <= number <= 100_000 else 1
    page = database.paginate(services.search(query, status), number, PER_PAGE, error_out=False)
    return render_template(
        "admin/subscribers.html",
        page=page,
        query=query,
        status=status,
        counts=services.counts(),
        issues=issue_states(),
        full_text=mails.full_text(),
        form=ButtonForm(),
    )


@bp.get("/subscribers.csv")
@admin_required
def subscribers_csv():
    query, status = _filters()
    statement = services.search(query, status)

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in services.csv_rows(statement):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="subscribers.csv"',
            "Cache-Control": "no-store",
        },
    )


def _checked() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")


@bp.post("/subscribers/test")
@admin_required
def newsletter_test():
    _checked()
    post = db.session.scalar(
        select(Post)
        .where(Post.kind == PostKind.POST, Post.status == PostStatus.PUBLISHED)
        .order_by(Post.published_at.desc())
        .limit(1)
    )
    if post is None:
        flash("There is no published post to send as a test yet.", "error")
    else:
        mails.send_test(post, current_user.email)
        flash(f"A test newsletter (“{post.title}”) is on its way to {current_user.email}.")
    return redirect(url_for("admin.subscribers"))


@bp.post("/subscribers/settings")
@admin_required
def newsletter_settings():
    _checked()
    mails.set_full_text(request.form.get("full_text") == "1")
    flash("Saved: newsletters carry " + ("the full text." if mails.full_text() else "an excerpt."))
    return redirect(url_for("admin.subscribers"))


def issue_states(limit: int = 20) -> list[dict]:
    """The newest issues with how far each got: queued, sent N of M, failed."""
    counted = (
        select(
            OutboxMessage.newsletter_id,
            func.count().label("total"),
            func.sum(case((OutboxMessage.status == OutboxStatus.SENT, 1), else_=0)).label("sent"),
            func.sum(case((OutboxMessage.status == OutboxStatus.FAILED, 1), else_=0)).label(
                "failed"
            ),
        )
        .where(OutboxMessage.newsletter_id.is_not(None))
        .group_by(OutboxMessage.newsletter_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Newsletter, counted.c.total, counted.c.sent, counted.c.failed)
        .outerjoin(counted, counted.c.newsletter_id == Newsletter.id)
        .order_by(Newsletter.send_after.desc(), Newsletter.id.desc())
        .limit(limit)
    ).all()
    states = []
    for issue, total, sent, failed in rows:
        total, sent, failed = total or 0, sent or 0, failed or 0
        if issue.expanded_at is None:
            state = "waiting (scheduled)" if issue.kind == "post" else "waiting"
        elif total == 0:
            state = "no recipients"
        elif sent == total:
            state = f"sent {sent} of {total}"
        else:
            state = f"sending: sent {sent} of {total}" + (f", {failed} failed" if failed else "")
        title = issue.post.title if issue.post is not None else f"Weekly digest {issue.period}"
        states.append({"issue": issue, "title": title, "state": state, "failed": failed})
    return states
