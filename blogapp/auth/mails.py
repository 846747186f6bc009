"""The account emails: confirm an address, reset a password, notices about changes.

Each queues its mail in the outbox and commits it together with whatever the session
already holds (a new account and its confirmation mail are one commit). Nothing here
waits for SMTP: the worker delivers.
"""

from __future__ import annotations

from flask import render_template

from ..email import queue_email
from ..extensions import db
from ..links import absolute_url_for
from ..models import User
from ..tokens import make_token, read_token
from . import services
from .sessions import describe_browser


def _send(to: str, subject: str, template: str, commit: bool = True, **context) -> None:
    text = render_template(f"auth/email/{template}.txt", **context)
    html = render_template(f"auth/email/{template}.html", **context)
    queue_email(to, subject, text, html)
    if commit:
        db.session.commit()


def send_confirmation(user: User) -> None:
    link = absolute_url_for("auth.confirm", token=services.confirmation_token(user))
    _send(user.email, "Confirm your email address", "confirm", user=user, link=link)


def send_email_change(user: User, new_email: str) -> None:
    """A confirmation link to the new address; the old one is told, in case it wasn't them."""
    token = services.confirmation_token(user, new_email=new_email)
    link = absolute_url_for("auth.confirm", token=token)
    _send(new_email, "Confirm your new email address", "confirm", False, user=user, link=link)
    if user.email:
        _send(
            user.email,
            "Your email address is being changed",
            "email_change_notice",
            user=user,
            new_email=new_email,
        )
    db.session.commit()


def send_already_registered(user: User) -> None:
    """Someone registered with this account's address: tell its owner (and only them)."""
    _send(
        user.email,
        "Someone tried to register with your email address",
        "already_registered",
        user=user,
        sign_in=absolute_url_for("auth.login"),
        reset=absolute_url_for("auth.reset_request"),
    )


def send_reset(user: User) -> None:
    link = absolute_url_for("auth.reset", token=services.reset_token(user))
    _send(user.email, "Reset your password", "reset", user=user, link=link)


# --- security notices: each names the session it came from, with a link to end it -------------

SECURITY_NOTICES = {
    "new_signin": "New sign-in to your account",
    "password_changed": "Your password was changed",  # nosec B105 - a subject line
    "twofactor_off": "Two-factor sign-in was turned off",
    "passkey_added": "A passkey was added to your account",
}
END_SESSION_MAX_AGE = 7 * 24 * 3600


def end_session_token(user: User, session_id: int, passkey_id: int | None = None) -> str:
    data = {"uid": user.id, "sid": session_id}
    if passkey_id is not None:
        data["pk"] = passkey_id
    return make_token("end-session", data)


def read_end_session_token(token: str) -> tuple[int, int, int | None] | None:
    """(user id, session id, passkey id or None) from an end-session link."""
    data = read_token("end-session", token, END_SESSION_MAX_AGE)
    if not isinstance(data, dict):
        return None
    uid, sid, pk = data.get("uid"), data.get("sid"), data.get("pk")
    if not isinstance(uid, int) or not isinstance(sid, int):
        return None
    return uid, sid, pk if isinstance(pk, int) else None


def send_security_notice(
    user: User, what: str, record, commit: bool = True, passkey_id: int | None = None
) -> None:
    """Tell the owner what happened, from which browser, and how to end that session.

    For a passkey added, the link also removes that passkey: ending the session alone
    would leave whoever added it a way straight back in.
    """
    if not user.email or record is None:
        return
    link = absolute_url_for(
        "account_security.end_from_email", token=end_session_token(user, record.id, passkey_id)
    )
    _send(
        user.email,
        SECURITY_NOTICES[what],
        "security_notice",
        commit,
        user=user,
        what=what,
        record=record,
        browser=describe_browser(record.user_agent),
        end_link=link,
        sessions_link=absolute_url_for("account_security.sessions"),
    )
