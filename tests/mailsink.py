"""A real SMTP server for tests (aiosmtpd in a thread) that keeps what it receives."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://[^/\s]+(/auth/(?:confirm|reset)/[A-Za-z0-9_.\-]+)")


class Inbox:
    """aiosmtpd handler: every message delivered, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"expected {count} emails, got {len(self.messages)}"
        return self.messages

    def last(self, to: str, subject: str) -> EmailMessage:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == to and message["Subject"] == subject:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} with subject {subject!r}")


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_path(message: EmailMessage) -> str:
    """The confirm or reset link's path, checked to be the same in both parts."""
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    assert match.group(0) in html_of(message)
    return match.group(1)


def free_port() -> int:
    # aiosmtpd's Controller can't take port 0: find a free one first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def smtp_server(inbox: Inbox | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = inbox or Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def app_mailing_to(port: int, database_url: str, **config):
    """A test's own app sending real mail, from its background thread (as under `flask run`),
    to the SMTP server on port; its tables are emptied after."""
    from tests.member_roles import own_app

    return own_app(
        database_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_SUPPRESS_SEND=False,
        MAIL_DELIVERY="thread",
        **config,
    )
