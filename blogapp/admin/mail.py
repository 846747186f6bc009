"""Admin: undelivered mail. What waits, what failed and why; retry one or all."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import database, outbox
from ..forms import ButtonForm
from ..inputs import optional_int
from ..models import OutboxMessage, OutboxStatus
from ..permissions import admin_required
from . import bp

PER_PAGE = 50


@bp.get("/mail")
@admin_required
def mail():
    number = request.args.get("page", 1, type=int)
    number = number if 1 <= number <= 100_000 else 1
    failed = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
    )
    page = database.paginate(failed, number, PER_PAGE, error_out=False)
    return render_template("admin/mail.html", page=page, counts=outbox.counts(), form=ButtonForm())


@bp.post("/mail/retry")
@admin_required
def mail_retry():
    if not ButtonForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    raw = request.form.get("id", "")
    if raw == "all":
        changed = outbox.retry()
    elif (message_id := optional_int(raw)) is not None:
        changed = outbox.retry([message_id])
    else:
        abort(400, "Choose a message to retry.")
    flash(f"{changed} message{'s' * (changed != 1)} will be tried again.")
    return redirect(url_for("admin.mail"))
