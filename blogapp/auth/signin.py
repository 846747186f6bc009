"""Signing in and out with session records, the two-factor step, and staff enrolment.

The glue between the request (cookies, User-Agent, address) and the services in
sessions.py, twofactor.py and passkeys.py: every sign-in in the app goes through sign_in().
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, request, session
from flask_login import current_user, login_user, logout_user

from ..comments.moderation import truncate_ip
from ..extensions import db
from ..models import User
from . import mails, sessions, twofactor
from .passkeys import RelyingParty

PENDING_KEY = "signin_pending"
PENDING_SECONDS = 300  # the code must follow the password within five minutes


def sign_in(user: User, *, remember: bool = False, method: str = "password") -> None:
    """A fresh session (nothing carried over: fixation) named by a new session record."""
    session.clear()
    config = current_app.config
    lifetime = (
        config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]
    )
    if not isinstance(lifetime, timedelta):
        lifetime = timedelta(seconds=int(lifetime))
    record, token, new_browser = sessions.start(
        user,
        user_agent=request.headers.get("User-Agent", ""),
        address=truncate_ip(request.remote_addr),
        lifetime=lifetime,
        method=method,
    )
    user.session_token = token
    user.session_record = record
    login_user(user, remember=remember)
    if new_browser:
        mails.send_security_notice(user, "new_signin", record)


def sign_out() -> None:
    """End this browser's session record, then forget the cookie's contents."""
    record = current_record()
    if record is not None:
        sessions.end(current_user, record.id)
    logout_user()
    session.clear()


def current_record():
    return getattr(current_user, "session_record", None) if current_user.is_authenticated else None


def renew_after_password_change(user: User) -> None:
    """Every session just ended (new password): this browser continues in a new one."""
    sign_in(user, remember=False)


# --- the two-factor step ---------------------------------------------------------------------


def begin_second_step(user: User, *, remember: bool, next_url: str) -> None:
    """The password was right: remember who is half signed in, for a few minutes."""
    session.clear()
    session[PENDING_KEY] = {
        "uid": user.id,
        "v": user.session_version,
        "at": int(time.time()),
        "remember": bool(remember),
        "next": next_url,
    }


def pending() -> tuple[User, dict] | None:
    """The user waiting for their code, while the password step is fresh."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    if time.time() - data.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, data["uid"])
    if user is None or user.suspended or user.session_version != data.get("v"):
        return None
    return user, data


def needs_enrolment(user: User) -> bool:
    """A staff role without a second factor: staff pages send them to enrol first.

    A session signed in with a passkey counts: that sign-in already was phishing-proof.
    """
    if not twofactor.required_for(user):
        return False
    record = getattr(user, "session_record", None)
    if record is not None and record.method == "passkey":
        return False
    return not twofactor.is_enabled(user)


# --- WebAuthn relying party --------------------------------------------------------------------


def relying_party() -> RelyingParty:
    """This site as WebAuthn sees it, from SITE_URL (the blog's public address), never from
    the request. Browsers refuse an IP address as a relying party: passkeys need SITE_URL
    to name a host (http://localhost:5000 while developing)."""
    parts = urlsplit(current_app.config["SITE_URL"])
    origin = f"{parts.scheme}://{parts.netloc}"
    return RelyingParty(
        id=parts.hostname or "localhost", origin=origin, name=current_app.config["BLOG_TITLE"]
    )
