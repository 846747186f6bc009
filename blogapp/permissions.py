"""Role checks for views: one decorator, used on every route that needs more than a reader.

    @bp.post("/posts/new")
    @author_required
    def create(): ...

Anonymous visitors are sent to sign in (GET) or refused with 401 (other methods); signed-in
people without the role, or suspended, get 403. Staff whose role must use two-factor sign-in
(TWO_FACTOR_REQUIRED_ROLES) and haven't turned it on are sent to turn it on. Checks run on
the server for every request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from .extensions import login_manager
from .models import Role

# Higher numbers can do everything lower ones can.
RANK = {Role.MEMBER: 1, Role.AUTHOR: 2, Role.EDITOR: 3, Role.ADMIN: 4}


def has_role(user, role: str) -> bool:
    """True when user is signed in, not suspended, and holds role or a higher one."""
    if user is None or not user.is_authenticated or user.suspended:
        return False
    return RANK.get(Role(user.role), 0) >= RANK[Role(role)]


ENROL_FIRST = "Your role needs two-factor sign-in: turn it on to use the staff pages."


def _needs_enrolment(user) -> bool:
    from .auth.signin import needs_enrolment  # the auth package imports this module

    return needs_enrolment(user)


def is_staff(user) -> bool:
    """Authors and up, and clinical reviewers (any role): who may see a post's history."""
    return has_role(user, Role.AUTHOR) or (has_role(user, Role.MEMBER) and user.is_reviewer)


def role_required(role: str, *, confirmed: bool = False, check: Callable | None = None) -> Callable:
    """Decorator: the view runs only for signed-in users with `role` (or higher).

    confirmed=True also requires a confirmed email address; check(user) replaces the role
    test (for designations such as clinical reviewer that are not a role).
    """
    Role(role)  # fail at import time on a typo, not at request time
    # Staff pages (a role above member, or a designation such as clinical reviewer) may
    # require two-factor enrolment first.
    staff_page = RANK[Role(role)] > RANK[Role.MEMBER] or check is not None
    allowed = check or (lambda user: has_role(user, role))

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.method in ("GET", "HEAD"):
                    return login_manager.unauthorized()
                abort(401)
            if not allowed(current_user):
                abort(403)
            if confirmed and not current_user.is_confirmed:
                abort(403, "Confirm your email address first.")
            if staff_page and _needs_enrolment(current_user):
                if request.method in ("GET", "HEAD"):
                    flash(ENROL_FIRST, "warning")
                    return redirect(url_for("account_security.security"))
                abort(403, ENROL_FIRST)
            return view(*args, **kwargs)

        return wrapped

    return decorator


member_required = role_required(Role.MEMBER)
author_required = role_required(Role.AUTHOR)
editor_required = role_required(Role.EDITOR)
admin_required = role_required(Role.ADMIN)
reviewer_required = role_required(
    Role.MEMBER, check=lambda user: has_role(user, Role.MEMBER) and user.is_reviewer
)
staff_required = role_required(Role.MEMBER, check=is_staff)
