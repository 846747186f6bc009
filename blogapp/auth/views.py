"""Sign in and sign out."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from . import bp, services
from .forms import LoginForm


def safe_next(target: str | None, default: str = "/") -> str:
    """Only paths on this site: no scheme, no host, no '//' or '/\\' tricks."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 32 for c in target) or "\\" in target:
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is not None and not user.suspended:
            session.clear()  # a fresh session at sign-in: nothing carried over (fixation)
            login_user(user, remember=form.remember.data)
            flash("You are signed in.")
            return redirect(safe_next(request.args.get("next")))
        flash("That email/username and password don't match an account.", "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("posts.index"))
