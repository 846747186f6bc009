"""Email, the one module: queue a message in the outbox, build it, hand it to SMTP or print it.

No request ever talks to SMTP. ``queue_email`` adds a row to the caller's session, so the
caller's commit writes it together with the change that caused it: a rollback sends
nothing, and a committed change always gets its mail. ``blogapp.outbox`` delivers the
rows later (the worker, or a thread in development) through ``Transport``: SMTP with a
timeout, or, with no MAIL_SERVER set, the whole message printed to standard output (where
``flask run`` and gunicorn print), links and all.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import sys
import unicodedata
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Connection, Message

from .extensions import db
from .models import OutboxMessage

# Errors that mean "this try failed, try again later": the server is down, slow or said no.
SEND_ERRORS = (TimeoutError, smtplib.SMTPException, OSError)
OUTBOX_ADDED = "outbox_added"  # session.info flag: this transaction queued mail


def clean_header(value: str, limit: int = 300) -> str:
    """One header line: control characters (CR/LF among them) become spaces; cut to limit."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in value)
    return " ".join(cleaned.split())[:limit]


def queue_email(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Put one message in the outbox, in the current transaction (the caller commits)."""
    row = OutboxMessage(
        to_address=clean_header(to, 254),
        subject=clean_header(subject),
        text_body=text,
        html_body=html,
        headers_json=json.dumps({k: clean_header(v, 2000) for k, v in (headers or {}).items()}),
    )
    db.session.add(row)
    db.session.info[OUTBOX_ADDED] = True
    return row


def build_message(
    row_id: int,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    headers: dict[str, str],
) -> Message:
    """The MIME message for an outbox row; its Message-ID is the same on every try."""
    message = Message(
        subject=clean_header(subject),
        recipients=[clean_header(to, 254)],
        body=text,
        html=html,
        extra_headers={k: clean_header(v, 2000) for k, v in headers.items()},
    )
    # Stable per row: if a retry follows a send the server took but never acknowledged,
    # the receiver sees the same message again, not a new one.
    domain = urlsplit(current_app.config.get("SITE_URL") or "http://localhost").hostname
    message.msgId = f"<outbox-{row_id}-{_site_tag()}@{domain or 'localhost'}>"
    return message


def _site_tag() -> str:
    # Distinct per installation (from the secret key), so two blogs' ids never meet.
    return hashlib.sha256(current_app.config["SECRET_KEY"].encode()).hexdigest()[:12]


class _TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout: a stuck server can't hang a worker."""

    def configure_host(self):
        config = current_app.config
        timeout = float(config.get("MAIL_TIMEOUT", 30))
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


class Transport:
    """One connection for a batch of messages: SMTP, Flask-Mail's test recorder, or stdout."""

    def __init__(self):
        config = current_app.config
        self.console = not config.get("MAIL_SERVER") and not config.get("MAIL_SUPPRESS_SEND")
        self.connection: Connection | None = None

    def __enter__(self) -> Transport:
        if not self.console:
            self.connection = _TimedConnection(current_app.extensions["mail"])
            self.connection.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.connection is not None:
            try:
                self.connection.__exit__(*exc)
            except SEND_ERRORS:
                pass  # QUIT failed: every message was already acknowledged or not

    def send(self, message: Message) -> None:
        if self.console:
            print_message(message)
        else:
            self.connection.send(message)


def print_message(message: Message) -> None:
    """Write a message readably (not MIME-encoded, so links can be copied) to stdout."""
    lines = [
        "----- email (no MAIL_SERVER set, so it is printed here) -----",
        f"From: {message.sender}",
        f"To: {', '.join(message.recipients)}",
        f"Subject: {message.subject}",
        *(f"{name}: {value}" for name, value in (message.extra_headers or {}).items()),
        "",
        message.body or "",
        "----- end of email -----",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
