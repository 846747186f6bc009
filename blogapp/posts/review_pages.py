"""Staff pages of clinical publishing: the review queue, one review, a post's history."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..forms import ButtonForm
from ..inputs import optional_int
from ..markup import render_post
from ..models import utcnow
from ..permissions import reviewer_required, staff_required
from . import authoring_services, bp, review, revisions


class DecisionForm(FlaskForm):
    revision = HiddenField(validators=[InputRequired()])
    note = TextAreaField("Note to the author", validators=[Optional(), Length(max=5000)])
    approve = SubmitField("Approve")
    request_changes = SubmitField("Request changes")


@bp.get("/reviews")
@reviewer_required
def reviews():
    return render_template(
        "posts/reviews.html",
        posts=review.queue(current_user),
        due=review.due(current_user),
        now=utcnow(),
    )


@bp.route("/reviews/<int:post_id>", methods=["GET", "POST"])
@reviewer_required
def review_post(post_id: int):
    post = authoring_services.get_post_by_id(post_id)
    if post is None:
        abort(404)
    form = DecisionForm()
    if request.method == "POST":
        revision = optional_int(form.revision.data)
        if not form.validate() or revision is None:
            return _review_page(post, form, 400)
        try:
            review.decide(
                post,
                revision,
                current_user,
                approve=bool(form.approve.data),
                note=form.note.data or "",
            )
        except review.ReviewError as error:
            flash(str(error), "error")
            return _review_page(post, form, error.status)
        flash("Approved." if form.approve.data else "Changes requested; the author sees your note.")
        return redirect(url_for("posts.reviews"))
    return _review_page(post, form)


def _review_page(post, form: DecisionForm, status: int = 200):
    """The exact version waiting for review, rendered as readers would see it, and its diff."""
    newest = revisions.latest(post)
    if newest is None:
        abort(404)
    form.revision.data = str(newest.number)
    live = revisions.get_by_id(post.live_revision_id) if post.live_revision_id else None
    base = live if live is not None and live.id != newest.id else None
    html = render_template(
        "posts/review.html",
        post=post,
        revision=newest,
        body_html=render_post(newest.body_md, post.body_format or "markdown").html,
        diff=revisions.diff(revisions.Text.of(base), revisions.Text.of(newest)) if base else None,
        base=base,
        form=form,
        own=current_user.id in (post.author_id, newest.editor_id),
    )
    return html, status


def _staff_post(slug: str):
    post = authoring_services.get_post(slug)
    if post is None:
        abort(404)
    if not (current_user.can_edit_post(post) or current_user.is_reviewer):
        abort(403)
    return post


@bp.get("/posts/<slug>/history")
@staff_required
def history(slug: str):
    post = _staff_post(slug)
    items = revisions.history(post)
    numbers = [r.number for r in items]
    newer = request.args.get("b", type=int) or (numbers[0] if numbers else None)
    older = request.args.get("a", type=int) or (numbers[1] if len(numbers) > 1 else None)
    left = revisions.get(post, older) if older else None
    right = revisions.get(post, newer) if newer else None
    diff = (
        revisions.diff(revisions.Text.of(left), revisions.Text.of(right))
        if left and right
        else None
    )
    return render_template(
        "posts/history.html",
        post=post,
        revisions=items,
        left=left,
        right=right,
        diff=diff,
        form=ButtonForm(),
        can_restore=current_user.can_edit_post(post),
    )


@bp.post("/posts/<slug>/history/<int:number>/restore")
@staff_required
def restore(slug: str, number: int):
    post = _staff_post(slug)
    if not current_user.can_edit_post(post):
        abort(403)
    if not ButtonForm().validate():
        abort(400, "The form expired; reload the page and try again.")
    made = authoring_services.restore(post, number, current_user)
    if made is None:
        abort(404)
    flash(
        f"Revision {number} restored as revision {made}."
        + (
            " It waits for review; readers still see the approved version."
            if review.guards_live_text(post)
            else ""
        )
    )
    return redirect(url_for("posts.history", slug=post.slug))
