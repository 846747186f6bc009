"""Comment routes: posting, replying, editing, deleting, following, and links from emails."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..cache import public_page
from ..errors import form_again_on_csrf_failure
from ..extensions import csrf
from ..forms import ButtonForm
from ..guest_token import guest_form
from ..inputs import optional_int
from ..models import Comment, CommentStatus, User
from ..posts import services as post_services
from ..posts.post_page import render_post_page
from ..tokens import row_named
from . import bp, moderation, notifications, services, thread
from .forms import CommentForm, EditCommentForm
from .moderation import Action, Refused


def signed_in_user() -> User | None:
    return current_user if current_user.is_authenticated else None


def visible_comment_or_404(comment_id: int) -> Comment:
    comment = services.get_comment(comment_id)
    if comment is None or not comment.post.is_visible():
        abort(404)
    return comment


def render_reply_page(
    parent: Comment, form: CommentForm, status: int = 200, notice="", headers=None
):
    html = render_template(
        "comments/reply.html",
        post=parent.post,
        parent=parent,
        comment_form=form,
        comment_notice=notice,
        comments_closed=moderation.closed_reason(parent.post),
    )
    return html, status, headers or {}


def comment_url(comment: Comment) -> str:
    page = thread.thread_page_of(comment)
    return url_for(
        "posts.detail",
        slug=comment.post.slug,
        cpage=page if page > 1 else None,
        _anchor=f"comment-{comment.id}",
    )


@bp.post("/posts/<slug>/comments")
@guest_form
@form_again_on_csrf_failure
def create(slug: str):
    post = post_services.visible_post_or_404(slug)
    user = signed_in_user()
    form = CommentForm.for_user(user)
    parent_id = optional_int(form.parent_id.data)
    parent = services.get_comment(parent_id) if parent_id is not None else None

    def again(status: int, notice: str = "", headers=None):
        if parent is not None and parent.post_id == post.id:
            return render_reply_page(parent, form, status, notice, headers)
        return render_post_page(post, form, status, notice, headers)

    if not form.validate_on_submit():
        return again(400, "Your comment wasn't posted: please check the fields marked below.")
    ip = moderation.truncate_ip(request.remote_addr)
    try:
        comment, verdict = services.add_comment(post, form.to_draft(), user, ip)
    except Refused as refused:
        return again(refused.status, refused.message, refused.headers)
    if verdict.silent or comment.status != CommentStatus.APPROVED:
        if not verdict.silent:
            thread.remember_held(comment)
        flash("Your comment is held for review. " + (verdict.reason or ""), "warning")
    else:
        flash("Your comment is published.")
    return redirect(
        comment_url(comment)
        if not verdict.silent
        else url_for("posts.detail", slug=post.slug, _anchor="comments")
    )


@bp.get("/comments/<int:comment_id>")
def permalink(comment_id: int):
    """A comment's lasting address: the post page, on the right page of threads."""
    comment = visible_comment_or_404(comment_id)
    return redirect(comment_url(comment))


@bp.get("/comments/<int:comment_id>/reply")
@public_page
def reply(comment_id: int):
    """The reply form without JavaScript: the comment quoted, the form under it."""
    parent = visible_comment_or_404(comment_id)
    if parent.status != CommentStatus.APPROVED:
        abort(404)
    form = CommentForm.for_user(signed_in_user(), parent_id=str(parent.id))
    return render_reply_page(parent, form)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@form_again_on_csrf_failure
def edit(comment_id: int):
    comment = visible_comment_or_404(comment_id)
    user = signed_in_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    form = EditCommentForm(body=comment.body_md)
    if not services.can_edit(comment, user):
        flash("This comment can no longer be edited.", "error")
        status = 403 if request.method == "POST" else 403
        return render_template(
            "comments/edit.html", comment=comment, form=form, closed=True
        ), status
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("comments/edit.html", comment=comment, form=form), status
    try:
        verdict = services.edit_comment(comment, user, form.body.data)
    except Refused as refused:
        return render_template(
            "comments/edit.html", comment=comment, form=form, notice=refused.message
        ), refused.status
    if verdict.status == CommentStatus.APPROVED:
        flash("Your comment is updated.")
    else:
        thread.remember_held(comment)
        flash("Your edited comment is held for review. " + verdict.reason, "warning")
    return redirect(comment_url(comment))


@bp.get("/comments/<int:comment_id>/delete")
def confirm_delete(comment_id: int):
    """Asks first, without JavaScript: the comment quoted and a button that POSTs."""
    comment = visible_comment_or_404(comment_id)
    user = signed_in_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    if comment.status == CommentStatus.DELETED or not services.can_delete(comment, user):
        abort(403)
    return render_template("comments/delete.html", comment=comment, form=ButtonForm())


@bp.post("/comments/<int:comment_id>/delete")
def delete(comment_id: int):
    comment = visible_comment_or_404(comment_id)
    user = signed_in_user()
    if user is None:
        abort(401)
    if not ButtonForm().validate_on_submit():
        abort(400)
    post = comment.post
    try:
        services.delete_comment(comment, user)
    except Refused as refused:
        abort(refused.status, refused.message)
    flash("The comment is deleted.")
    return redirect(url_for("posts.detail", slug=post.slug, _anchor="comments"))


@bp.post("/posts/<slug>/follow")
def follow(slug: str):
    post = post_services.visible_post_or_404(slug)
    user = signed_in_user()
    if user is None:
        abort(401)
    follow_it = request.form.get("follow") == "1"
    try:
        services.set_following(post, user, follow_it)
    except Refused as refused:
        abort(refused.status, refused.message)
    flash(
        "You'll get an email for each new comment here."
        if follow_it
        else "You no longer follow this discussion."
    )
    return redirect(url_for("posts.detail", slug=post.slug, _anchor="comments"))


@bp.route("/comments/moderate/<token>", methods=["GET", "POST"])
def moderate_link(token: str):
    """From the author's email: GET shows what will happen and a button; only POST acts."""
    data = notifications.read_moderation_token(token)
    action = Action.find(data["a"]) if data else None
    if action is None:
        abort(404, "This link is not valid or has expired.")
    comment = notifications.moderation_target(data)
    moderator = row_named(User, data["u"])
    if comment is None:  # deleted, or the id now names another comment
        return render_template("comments/moderate.html", comment=None, action=action), 410
    if moderator is None or not moderator.can_moderate(comment.post):
        abort(403)
    form = ButtonForm()
    if form.validate_on_submit():
        services.moderate([comment], action, actor=moderator)
        flash(f"Comment {action.done}.")
        return redirect(url_for("posts.detail", slug=comment.post.slug, _anchor="comments"))
    return render_template("comments/moderate.html", comment=comment, action=action, form=form)


@bp.route("/comments/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail provider POSTs with no session; the token is the key
def unsubscribe(token: str):
    data = notifications.read_unsubscribe_token(token)
    if data is None:
        abort(404, "This unsubscribe link is not valid.")
    user = notifications.unsubscribe_target(data)
    if user is None:  # the account is gone: nothing is sent to it any more
        return render_template("comments/unsubscribe.html", gone=True, kind=data["k"]), 410
    if request.method == "POST":
        notifications.unsubscribe(user, data)
        return render_template("comments/unsubscribe.html", done=True, kind=data["k"])
    return render_template("comments/unsubscribe.html", done=False, kind=data["k"])
