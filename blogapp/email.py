"""Sending email: SMTP through Flask-Mail, or the log when no MAIL_SERVER is set.

Sending never fails a request: errors are logged and reported as False.
"""

from __future__ import annotations

import logging
import smtplib

from flask import current_app
from flask_mail import Message

from .extensions import mail

log = logging.getLogger(__name__)


def send_email(
    to: str, subject: str, text: str, html: str | None = None, headers: dict | None = None
) -> bool:
    """Send one message (plain text, optional HTML part); True when handed to the server."""
    message = Message(subject=subject, recipients=[to], body=text, html=html, extra_headers=headers)
    if not current_app.config.get("MAIL_SERVER") and not current_app.config.get("TESTING"):
        log.info("email (no MAIL_SERVER set) to=%s subject=%s\n%s", to, subject, text)
        return True
    try:
        mail.send(message)
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        log.error("could not send email to %s: %s", to, error)
        return False
    return True
