"""Sign in and out, sign up, email confirmation and password reset."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.exceptions import TooManyRequests

from ..errors import form_again_on_csrf_failure
from ..extensions import limiter
from ..forms import ButtonForm, form_status
from . import accounts, bp, lockout, mails, services, signin, twofactor
from .forms import EmailForm, LoginForm, RegisterForm, ResetForm


def _limit(name: str, default: str):
    """A limit read from the config at request time (e.g. RATELIMIT_SIGNIN), so tests can set it."""
    return lambda: current_app.config.get(name, default)


def post_limit(name: str, default: str, **options):
    """A rate limit on a form's POSTs (its GETs are free), read from config setting name."""
    return limiter.limit(_limit(name, default), methods=["POST"], **options)


# Every way in (password, then perhaps a code; or a passkey) shares these.
SIGNIN_LIMIT = ("RATELIMIT_SIGNIN", "10 per minute;60 per hour")
SUSPENDED_SIGNIN = "This account is suspended. Contact the site's admins."


def signed_in(user, next_url: str | None, *, remember: bool = False, method: str = "password"):
    """The last step of every way in: a fresh session (fixation), then on to next_url."""
    signin.sign_in(user, remember=remember, method=method)
    flash("You are signed in.")
    return redirect(safe_next(next_url))


def _email_key() -> str:
    return "reset:" + (request.form.get("email") or "").strip().lower()[:254]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only paths on this site: no scheme, no host, no '//' or '/\\' tricks."""
    if not target:
        return default
    target = target.strip()
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[::1": an unclosed IPv6 host
        return default
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
    ):
        return default
    if any(ord(c) < 32 for c in target) or "\\" in target:
        return default
    return target


SUSPENDED_NOTICE = (
    "Your account has been suspended, so you were signed out. Contact the site's admins."
)


@bp.before_app_request
def end_stale_session():
    """A session (or remember-me cookie) whose user can no longer sign in is ended here,
    and a suspended member is told why (issue 17), rather than silently becoming a guest.

    Only requests that carry a signed-in session pay for this; the page cache never
    serves those (their session holds _user_id).
    """
    if "_user_id" not in session or current_user.is_authenticated:
        return
    if services.is_suspended_session(session["_user_id"]):
        flash(SUSPENDED_NOTICE, "error")
    logout_user()


@bp.route("/login", methods=["GET", "POST"])
@post_limit(*SIGNIN_LIMIT)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        # Per account too (lockout.py): slows guessing one password from many addresses.
        account = lockout.account_key(services.find_by_login(form.login.data), form.login.data)
        address = request.remote_addr or ""
        if (wait := lockout.held_back(account, address)) is not None:
            raise TooManyRequests(retry_after=wait)
        user = services.authenticate(form.login.data, form.password.data)
        if user is not None and user.suspended:
            flash(SUSPENDED_SIGNIN, "error")
            return render_template("auth/login.html", form=form), 403
        if user is not None and twofactor.is_enabled(user):
            next_url = safe_next(request.args.get("next"))
            signin.begin_second_step(user, remember=form.remember.data, next_url=next_url)
            return redirect(url_for("auth.two_factor"))
        if user is not None:
            response = signed_in(user, request.args.get("next"), remember=form.remember.data)
            if not user.is_confirmed:
                flash("Please confirm your email address: use the link we emailed you.", "warning")
            return response
        lockout.failed(account, address)
        flash("That email/username and password don't match an account.", "error")
        return render_template("auth/login.html", form=form), 400
    if request.method == "POST":
        return render_template("auth/login.html", form=form), 400
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    signin.sign_out()  # ends the session record too: a copied cookie stops working
    flash("You are signed out.")
    return redirect(url_for("posts.index"))


@bp.route("/register", methods=["GET", "POST"])
@form_again_on_csrf_failure
@post_limit("RATELIMIT_REGISTER", "5 per minute;20 per day")
def register():
    form = RegisterForm()
    if not form.validate_on_submit():
        return render_template("auth/register.html", form=form), form_status()
    # An address that has an account gets the same answer as a new one (its owner is
    # emailed instead), so the form can't be used to learn who is a member. Nobody is
    # signed in by registering: that too would tell the two apart.
    owner = services.find_by_email(form.email.data)
    if owner is not None:
        if owner.email and not owner.suspended:
            mails.send_already_registered(owner)
    else:
        try:
            user = services.register(form.username.data, form.email.data, form.password.data)
        except accounts.AccountError as error:  # a taken username: public anyway
            flash(str(error), "error")
            return render_template("auth/register.html", form=form), 400
        mails.send_confirmation(user)  # commits the new account and its mail together
    flash(
        f"Thank you! We sent a link to {form.email.data}: open it to confirm your address, "
        "then sign in."
    )
    return redirect(url_for("auth.login"))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    confirmation = services.read_confirmation(token)
    if confirmation is None:
        return render_template("auth/link_invalid.html", what="confirmation"), 400
    form = ButtonForm()
    if not form.validate_on_submit():
        # Mail scanners fetch links: a GET only shows the button; the POST confirms.
        return render_template("auth/confirm.html", form=form, confirmation=confirmation)
    if not services.confirm(confirmation):
        flash("That email address already belongs to another account.", "error")
        return render_template("auth/link_invalid.html", what="confirmation"), 409
    flash(f"Thank you: {confirmation.email} is confirmed.")
    if current_user.is_authenticated:
        return redirect(url_for("account.profile"))
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@post_limit("RATELIMIT_RESEND", "3 per 10 minutes;10 per day")
@login_required
def resend_confirmation():
    form = ButtonForm()
    if current_user.is_confirmed:
        flash("Your email address is already confirmed.")
        return redirect(url_for("account.profile"))
    if not form.validate_on_submit():
        return render_template("auth/resend.html", form=form)
    mails.send_confirmation(current_user)
    flash(f"We sent a new confirmation link to {current_user.email}.")
    return redirect(url_for("account.profile"))


@bp.route("/reset", methods=["GET", "POST"])
@post_limit("RATELIMIT_RESET", "5 per minute;30 per day")
@post_limit("RATELIMIT_RESET_ACCOUNT", "5 per hour", key_func=_email_key, scope="reset-account")
def reset_request():
    form = EmailForm()
    if not form.validate_on_submit():
        return render_template("auth/reset_request.html", form=form), form_status()
    user = services.find_by_email(form.email.data)
    if user is not None and not user.suspended and user.email:
        mails.send_reset(user)  # queued: the answer never waits for (or reveals) SMTP
    # The same answer whether or not the address has an account.
    flash(
        f"If {form.email.data} has an account here, we sent it a link to choose a new "
        "password. It works for one hour."
    )
    return redirect(url_for("auth.login"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    user = services.read_reset(token)
    if user is None:
        return render_template("auth/link_invalid.html", what="reset"), 400
    form = ResetForm()
    if not form.validate_on_submit():
        return render_template("auth/reset.html", form=form), form_status()
    services.reset_password(user, form.password.data)
    logout_user()
    session.clear()
    flash("Your password was changed. Sign in with your new password.")
    return redirect(url_for("auth.login"))


# --- 429: the page comes back with what the person typed, and when to try again ------------

RATE_LIMITED_FORMS = {
    "auth.login": (LoginForm, "auth/login.html"),
    "auth.register": (RegisterForm, "auth/register.html"),
    "auth.reset_request": (EmailForm, "auth/reset_request.html"),
    "auth.resend_confirmation": (ButtonForm, "auth/resend.html"),
}


@bp.errorhandler(429)
def too_many_requests(error):
    retry_after = getattr(error, "retry_after", None) or _retry_after_seconds()
    if not isinstance(retry_after, int):  # werkzeug keeps a date when given one
        retry_after = _retry_after_seconds()
    form_class, template = RATE_LIMITED_FORMS.get(request.endpoint, (None, None))
    if form_class is None:
        return (
            render_template(
                "errors/error.html",
                status=429,
                title="Too many requests",
                message="Please wait a little and try again.",
            ),
            429,
            {"Retry-After": str(retry_after)},
        )
    flash(f"Too many attempts. Please wait {_as_words(retry_after)} and try again.", "error")
    form = form_class()  # bound to what was posted, so nothing typed is lost
    return render_template(template, form=form), 429, {"Retry-After": str(retry_after)}


def _retry_after_seconds() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _as_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
