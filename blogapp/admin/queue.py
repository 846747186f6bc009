"""The moderation queue: pending, spam and approved comments, acted on in bulk."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import database
from ..comments import moderation, services
from ..comments.forms import ConfirmForm, WordListForm
from ..extensions import db
from ..models import CommentStatus, Post
from ..permissions import admin_required, author_required
from . import bp

TABS = (CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.APPROVED)
DONE = {"approve": "approved", "spam": "marked as spam", "delete": "deleted"}


def queue_args() -> dict:
    """The queue's filters from the query string, kept across actions."""
    status = request.args.get("status", CommentStatus.PENDING)
    return {
        "status": status if status in TABS else CommentStatus.PENDING,
        "post": request.args.get("post", type=int),
        "commenter": (request.args.get("commenter") or "")[:300] or None,
        "page": request.args.get("page", 1, type=int),
    }


@bp.route("/comments", methods=["GET", "POST"])
@author_required
def comments():
    args = queue_args()
    if request.method == "POST":
        form = ConfirmForm()
        action = request.form.get("action", "")
        if not form.validate_on_submit() or action not in services.ACTIONS:
            abort(400)
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:500]
        chosen = services.moderatable(current_user, ids)
        if not chosen:
            flash("Choose at least one comment first.", "error")
        else:
            changed = services.moderate(chosen, action, actor=current_user)
            flash(f"{changed} comment{'s' if changed != 1 else ''} {DONE[action]}.")
        return redirect(url_for("admin.comments", **{k: v for k, v in args.items() if v}))
    query = services.queue_query(current_user, args["status"], args["post"], args["commenter"])
    page = args["page"] if 1 <= args["page"] <= 100_000 else 1
    pagination = database.paginate(query, page, 50, error_out=False)
    return render_template(
        "admin/comments.html",
        pagination=pagination,
        comments=pagination.items,
        counts=services.queue_counts(current_user),
        tabs=TABS,
        args=args,
        filter_post=db.session.get(Post, args["post"]) if args["post"] else None,
        form=ConfirmForm(),
        words_form=WordListForm(words="\n".join(moderation.word_list()))
        if current_user.is_admin
        else None,
    )


@bp.post("/comments/words")
@admin_required
def moderation_words():
    form = WordListForm()
    if not form.validate_on_submit():
        flash(
            "The word list wasn't saved: " + " ".join(form.words.errors or ["try again."]), "error"
        )
        return redirect(url_for("admin.comments"))
    words = moderation.save_word_list(form.words.data or "", actor=current_user)
    flash(f"Moderation word list saved ({len(words)} entr{'y' if len(words) == 1 else 'ies'}).")
    return redirect(url_for("admin.comments"))
