"""The moderation queue: pending, spam and approved comments, acted on one by one or in bulk."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import database
from ..comments import moderation, services
from ..comments.forms import WordListForm
from ..comments.moderation import Action
from ..errors import form_again_on_csrf_failure
from ..extensions import db
from ..forms import ButtonForm
from ..inputs import optional_int, page_number, request_int
from ..models import CommentStatus, Post, utcnow
from ..permissions import admin_required, author_required
from . import bp

TABS = (CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.APPROVED)
# A row's own buttons: the moderation actions, and "reply" (approve if held, then the form).
ROW_ACTIONS = (*Action, "reply")


def queue_args() -> dict:
    """The queue's filters from the query string, kept across actions."""
    status = request.args.get("status", CommentStatus.PENDING)
    return {
        "status": status if status in TABS else CommentStatus.PENDING,
        "post": request.args.get("post", type=request_int),
        "commenter": (request.args.get("commenter") or "")[:300] or None,
        "page": request.args.get("page", 1, type=page_number),
    }


@bp.route("/comments", methods=["GET", "POST"])
@author_required
def comments():
    args = queue_args()
    if request.method == "POST":
        return act(args)
    return render_queue(args)


def render_queue(args: dict, words_form: WordListForm | None = None, status: int = 200):
    """The queue page; words_form as the admin typed it when it comes back."""
    query = services.queue_query(current_user, args["status"], args["post"], args["commenter"])
    pagination = database.paginate(query, args["page"], 50, error_out=False)
    return render_template(
        "admin/comments.html",
        actions=Action,
        pagination=pagination,
        comments=pagination.items,
        earlier=services.earlier_comments(pagination.items),
        counts=services.queue_counts(current_user),
        tabs=TABS,
        args=args,
        filter_post=moderatable_post(args["post"]),
        form=ButtonForm(),
        now=utcnow(),
        words_form=(words_form or WordListForm(words="\n".join(moderation.word_list())))
        if current_user.is_admin
        else None,
    ), status


def chosen_action() -> tuple[str, list[int]]:
    """The action and comment ids: a row's own button ("approve:12") or the bulk buttons."""
    if row := request.form.get("row"):
        action, _, comment_id = row.partition(":")
        number = optional_int(comment_id)
        if action not in ROW_ACTIONS or number is None:
            abort(400)
        return action, [number]
    action = Action.find(request.form.get("action"))
    if action is None:
        abort(400)
    ids = map(optional_int, request.form.getlist("ids")[:500])
    return action, [i for i in ids if i is not None]


def act(args: dict):
    """Approve, mark as spam, delete (one row or the ticked ones), or approve and reply."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    action, ids = chosen_action()
    chosen = services.moderatable(current_user, ids)
    back = url_for("admin.comments", **{k: v for k, v in args.items() if v}, _anchor="queue")
    if not chosen:
        flash("Choose at least one comment first.", "error")
        return redirect(back)
    if action == "reply":
        comment = chosen[0]
        if comment.status != CommentStatus.APPROVED:
            # A reply shows under a shown comment.
            services.moderate([comment], Action.APPROVE, actor=current_user)
        return redirect(url_for("comments.reply", comment_id=comment.id))
    name = chosen[0].author_name or "a guest"  # read now: a deleted comment is gone after
    changed = services.moderate(chosen, action, actor=current_user)
    if "row" in request.form:
        flash(f"The comment by {name} was {Action(action).done}.")
    else:
        flash(f"{changed} comment{'s' if changed != 1 else ''} {Action(action).done}.")
    return redirect(back)


def moderatable_post(post_id: int | None) -> Post | None:
    """The post a queue is filtered by, if this moderator may see it: an author must not
    learn another author's draft title by trying ids."""
    post = db.session.get(Post, post_id) if post_id else None
    return post if post is not None and current_user.can_moderate(post) else None


@bp.post("/comments/words")
@form_again_on_csrf_failure
@admin_required
def moderation_words():
    form = WordListForm()
    if not form.validate_on_submit():
        flash(
            "The word list wasn't saved: " + " ".join(form.words.errors or ["try again."]), "error"
        )
        return render_queue(queue_args(), words_form=form, status=400)  # as typed
    words = moderation.save_word_list(form.words.data or "", actor=current_user)
    flash(f"Moderation word list saved ({len(words)} entr{'y' if len(words) == 1 else 'ies'}).")
    return redirect(url_for("admin.comments"))
