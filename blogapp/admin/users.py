"""Admin: people. Search users, change roles, suspend and reinstate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import database
from ..auth import services
from ..extensions import db
from ..forms import ButtonForm
from ..inputs import page_number
from ..models import Role, User
from ..permissions import admin_required
from . import bp

USERS_PER_PAGE = 25


@bp.get("/users")
@admin_required
def users():
    query = request.args.get("q", "")[:100]
    number = request.args.get("page", 1, type=page_number)
    page = database.paginate(services.search_users(query), number, USERS_PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html", page=page, query=query, roles=list(Role), form=ButtonForm()
    )


def _back():
    return redirect(url_for("admin.users", q=request.form.get("q") or None))


def _target(user_id: int) -> User:
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    return db.get_or_404(User, user_id)


def _change(change, done: str):
    """Make an admin's change (a function); say it was done, or why it was refused."""
    try:
        change()
    except services.RoleError as error:
        flash(str(error), "error")
    else:
        flash(done)
    return _back()


@bp.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int):
    user = _target(user_id)
    role = request.form.get("role", "")
    if role not in {r.value for r in Role}:
        abort(400, "Choose member, author, editor or admin.")
    return _change(
        lambda: services.change_role(user, role, actor=current_user),
        f"{user.username} is now {'an' if role[0] in 'aeiou' else 'a'} {role}.",
    )


@bp.post("/users/<int:user_id>/suspend")
@admin_required
def suspend(user_id: int):
    user = _target(user_id)
    if user.id == current_user.id:
        flash("You can't suspend yourself.", "error")
        return _back()
    return _change(
        lambda: services.set_suspended(user, True, actor=current_user),
        f"{user.username} is suspended and signed out everywhere.",
    )


@bp.post("/users/<int:user_id>/reinstate")
@admin_required
def reinstate(user_id: int):
    user = _target(user_id)
    return _change(
        lambda: services.set_suspended(user, False, actor=current_user),
        f"{user.username} is reinstated.",
    )


@bp.post("/users/<int:user_id>/reviewer")
@admin_required
def set_reviewer(user_id: int):
    user = _target(user_id)
    credentials = request.form.get("credentials", "")
    if len(credentials) > 200 or any(ord(c) < 32 for c in credentials):
        flash("Credentials: one line of at most 200 characters.", "error")
        return _back()
    services.set_reviewer(user, credentials, actor=current_user)
    if user.reviewer_credentials:
        flash(f"{user.username} is a clinical reviewer ({user.reviewer_credentials}).")
    else:
        flash(f"{user.username} is no longer a clinical reviewer.")
    return _back()
