"""The account emails: confirm an address, reset a password, notices about changes.

Each returns send_email's result: False means the server could not take it (already logged).
"""

from __future__ import annotations

from flask import render_template

from ..email import send_email
from ..links import absolute_url_for
from ..models import User
from . import services


def _send(to: str, subject: str, template: str, **context) -> bool:
    text = render_template(f"auth/email/{template}.txt", **context)
    html = render_template(f"auth/email/{template}.html", **context)
    return send_email(to, subject, text, html)


def send_confirmation(user: User) -> bool:
    link = absolute_url_for("auth.confirm", token=services.confirmation_token(user))
    return _send(user.email, "Confirm your email address", "confirm", user=user, link=link)


def send_email_change(user: User, new_email: str) -> bool:
    """A confirmation link to the new address; the old one is told, in case it wasn't them."""
    token = services.confirmation_token(user, new_email=new_email)
    link = absolute_url_for("auth.confirm", token=token)
    sent = _send(new_email, "Confirm your new email address", "confirm", user=user, link=link)
    if sent and user.email:
        _send(
            user.email,
            "Your email address is being changed",
            "email_change_notice",
            user=user,
            new_email=new_email,
        )
    return sent


def send_reset(user: User) -> bool:
    link = absolute_url_for("auth.reset", token=services.reset_token(user))
    return _send(user.email, "Reset your password", "reset", user=user, link=link)


def send_password_changed(user: User) -> bool:
    return _send(user.email, "Your password was changed", "password_changed", user=user)
