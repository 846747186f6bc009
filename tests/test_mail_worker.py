"""The mail worker for real: `flask --app blogapp worker` processes and an aiosmtpd server.

Each message must arrive exactly once: with one worker, with two at once, and when a
worker is SIGKILLed mid-run and started again. Requests never wait for SMTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import statistics
import subprocess  # nosec B404 - for the Popen type (tests.servers.started runs them)
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from sqlalchemy import func, insert, select

from blogapp import outbox
from blogapp.extensions import db
from blogapp.models import OutboxMessage, Role, Subscriber, utcnow
from blogapp.posts import authoring_services
from tests.builders import make_post, make_user
from tests.helpers import AuthActions, csrf_token, post_form
from tests.mailsink import Inbox, free_port, smtp_server, text_of
from tests.member_roles import own_app
from tests.servers import app_env, started, wait_until_up

FLASK = [sys.executable, "-m", "flask", "--app", "blogapp"]


def publish(title: str, when: datetime | None = None) -> str:
    author = make_user(role=Role.AUTHOR)
    draft = authoring_services.Draft(title=title, body=f"All about {title}.")
    post = authoring_services.save(None, draft, author, "schedule" if when else "publish", when)
    return post.title


def add_subscribers(count: int, frequency: str = "post", prefix: str = "sub") -> list[str]:
    """Confirmed subscribers in bulk (the scale tests need thousands)."""
    now = utcnow()
    rows = [
        {
            "email": f"{prefix}{n}@example.org",
            "email_key": f"{prefix}{n}@example.org",
            "status": "confirmed",
            "frequency": frequency,
            "all_categories": True,
            "link_key": f"{n:016x}",
            "confirmed_at": now,
            "created_at": now,
        }
        for n in range(count)
    ]
    db.session.execute(insert(Subscriber), rows)
    db.session.commit()
    return [row["email"] for row in rows]


@contextlib.contextmanager
def worker(database_url: str, smtp_port: int, **settings: str) -> Iterator[subprocess.Popen]:
    """`flask --app blogapp worker` as its own process, stopped (TERM) at the end."""
    env = {
        **os.environ,
        **app_env(database_url),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "WORKER_POLL_SECONDS": "0.2",
        "MAIL_RETRY_SECONDS": "0.2",
        **settings,
    }
    with started([*FLASK, "worker"], env) as process:
        yield process


def exactly_once(inbox: Inbox, expected: list[str], subject: str) -> None:
    """Every address got one message with this subject, and nothing else came."""
    counts = Counter(m["To"] for m in inbox.messages if m["Subject"] == subject)
    twice = [to for to, n in counts.items() if n > 1]
    assert not twice, f"sent more than once: {twice[:5]}"
    assert sorted(counts) == sorted(expected)


def settle(inbox: Inbox, seconds: float = 1.0) -> None:
    """Wait until nothing new has arrived for a while (a duplicate would show up here)."""
    seen = -1
    while seen != len(inbox.messages):
        seen = len(inbox.messages)
        time.sleep(seconds)


def test_a_worker_process_sends_each_new_post_once_and_scheduled_ones_when_due(app, database_url):
    with smtp_server() as (inbox, port):
        with app.app_context():
            readers = add_subscribers(3)
            add_subscribers(2, frequency="weekly", prefix="weekly")  # they wait for Monday
            first = publish("Flu season staffing")
            due = utcnow() + timedelta(seconds=3)
            later = publish("Holiday rota", when=due)
        with worker(database_url, port):
            inbox.wait_for(6, timeout=30)
            settle(inbox)
    exactly_once(inbox, readers, first)
    exactly_once(inbox, readers, later)
    for message in inbox.messages:
        if message["Subject"] == later:  # sent when its time came, not when it was scheduled
            assert parsedate_to_datetime(message["Date"]) >= due.replace(microsecond=0)
    assert len(inbox.messages) == 6
    message = inbox.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(http[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert link in text_of(message)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "sent")) == 0


class StallingInbox(Inbox):
    """Holds message number `stall_at` (never accepting it) until released."""

    def __init__(self, stall_at: int):
        super().__init__()
        self.stall_at = stall_at
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if len(self.messages) == self.stall_at and not self.release.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Try again later"  # the sender is gone by now anyway
        return await super().handle_DATA(server, session, envelope)


def test_a_worker_killed_mid_run_and_restarted_delivers_every_remaining_mail_once(
    app, database_url
):
    total = 120
    inbox = StallingInbox(stall_at=50)
    with smtp_server(inbox) as (inbox, port):
        with app.app_context():
            readers = add_subscribers(total)
            subject = publish("Overtime rules")
        with worker(database_url, port, MAIL_CLAIM_SECONDS="2") as first:
            assert inbox.stalled.wait(60), "the worker never reached the stalled message"
            first.send_signal(signal.SIGKILL)  # mid-conversation, with a batch claimed
            first.wait(10)
        inbox.release.set()
        assert len(inbox.messages) == 50
        with worker(database_url, port, MAIL_CLAIM_SECONDS="2"):
            inbox.wait_for(total, timeout=90)
            settle(inbox)
    exactly_once(inbox, readers, subject)


def test_two_workers_at_once_deliver_each_message_exactly_once(app, database_url):
    total = 160
    with smtp_server() as (inbox, port):
        with app.app_context():
            readers = add_subscribers(total)
            subject = publish("Two workers")
        settings = {"MAIL_BATCH_SIZE": "10"}  # many claims each, so the two workers race
        with worker(database_url, port, **settings), worker(database_url, port, **settings):
            inbox.wait_for(total, timeout=120)
            settle(inbox)
    exactly_once(inbox, readers, subject)
    with app.app_context():
        by_worker = db.session.execute(
            select(OutboxMessage.claimed_by, func.count()).group_by(OutboxMessage.claimed_by)
        ).all()
    assert sum(n for _, n in by_worker) == total
    print("messages per worker:", sorted(n for _, n in by_worker))


class Refusing(Inbox):
    """Refuses mail to refuse@..., and the first `flaky` tries at flaky@..."""

    def __init__(self, flaky: int):
        super().__init__()
        self.flaky = flaky

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("refuse@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("flaky@") and self.flaky > 0:
            self.flaky -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_failures_are_retried_with_backoff_then_given_up_and_shown_for_retry(database_url):
    from blogapp.email import queue_email

    with smtp_server(Refusing(flaky=2)) as (inbox, port):
        with (
            own_app(
                database_url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=port,
                MAIL_SUPPRESS_SEND=False,
                MAIL_MAX_ATTEMPTS=3,
                MAIL_RETRY_SECONDS=60,
            ) as app,
            app.app_context(),
        ):
            for to in ("refuse@example.org", "flaky@example.org", "fine@example.org"):
                queue_email(to, "Hello", "Body")
            db.session.commit()
            clock = utcnow()
            outbox.run_once("w1", now=clock)
            assert [m["To"] for m in inbox.messages] == ["fine@example.org"]
            rows = {r.to_address: r for r in db.session.scalars(select(OutboxMessage))}
            waits = {to: (r.next_attempt_at - clock).total_seconds() for to, r in rows.items()}
            assert 50 < waits["refuse@example.org"] < 70  # the first retry after about a minute
            assert outbox.run_once("w1", now=clock + timedelta(seconds=30)) == 0  # not yet
            for minutes in (2, 10):
                outbox.run_once("w1", now=clock + timedelta(minutes=minutes))
            db.session.expire_all()
            rows = {r.to_address: r for r in db.session.scalars(select(OutboxMessage))}
            assert (rows["refuse@example.org"].status, rows["refuse@example.org"].attempts) == (
                "failed",
                3,
            )
            assert "550" in rows["refuse@example.org"].last_error
            assert rows["flaky@example.org"].status == "sent"  # third try worked
            assert outbox.counts() == {"failed": 1, "sent": 2}
            assert outbox.run_once("w1", now=clock + timedelta(days=1)) == 0  # given up
            assert outbox.retry() == 1
            assert db.session.get(OutboxMessage, rows["refuse@example.org"].id).status == "pending"
    assert Counter(m["To"] for m in inbox.messages) == {
        "fine@example.org": 1,
        "flaky@example.org": 1,
    }


class Silent:
    """A TCP server that accepts connections and never says anything: a hung mail server."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def _timed(client, path: str, data: dict) -> float:
    if path != "/subscribe":  # the one public form without a token
        data = {**data, "csrf_token": csrf_token(client, path)}
    started = time.perf_counter()
    response = client.post(path, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    return elapsed


def test_a_request_answers_as_fast_when_the_mail_server_is_down(database_url):
    """Reset and subscribe take the same time whether mail works and whether the address
    is known: the mail waits in the outbox, so a hung SMTP server costs a request nothing."""
    hung = Silent()
    medians = {}
    try:
        with smtp_server() as (inbox, up_port):
            for name, port in (("up", up_port), ("down", hung.port)):
                with own_app(
                    database_url,
                    MAIL_SERVER="127.0.0.1",
                    MAIL_PORT=port,
                    MAIL_SUPPRESS_SEND=False,
                    MAIL_TIMEOUT=3,
                ) as app:
                    with app.app_context():
                        make_user(f"carol-{name}", email=f"carol-{name}@example.org")
                    client = app.test_client()
                    for who in ("known", "unknown"):
                        email = f"carol-{name}@example.org" if who == "known" else "x@example.org"
                        times = [_timed(client, "/auth/reset", {"email": email}) for _ in range(7)]
                        medians[(name, who, "reset")] = statistics.median(times)
                    times = [
                        _timed(client, "/subscribe", {"email": f"s{n}@example.org"})
                        for n in range(7)
                    ]
                    medians[(name, "new", "subscribe")] = statistics.median(times)
    finally:
        hung.close()
    print({" ".join(k): round(v * 1000, 1) for k, v in medians.items()})
    fastest = min(medians.values())
    for key, value in medians.items():
        # A request that talked to the hung server would take MAIL_TIMEOUT (3 s).
        assert value < 2 * fastest + 0.1 and value < 1.0, (key, medians)


def test_digests_go_out_weekly_with_the_weeks_posts_once(database_url):
    """Time frozen: Monday 08:00 (blog time) sends last week's digest, once."""
    with smtp_server() as (inbox, port):
        with (
            own_app(
                database_url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=port,
                MAIL_SUPPRESS_SEND=False,
                BLOG_TIMEZONE="UTC",
            ) as app,
            app.app_context(),
        ):
            weekly = add_subscribers(2, frequency="weekly", prefix="weekly")
            add_subscribers(1, frequency="post", prefix="every")
            monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday
            author = make_user(role=Role.AUTHOR)
            for title, when in (
                ("Old news", monday - timedelta(days=9)),  # the week before: not in it
                ("Tuesday post", monday - timedelta(days=6)),
                ("Sunday post", monday - timedelta(hours=10)),
            ):
                draft = authoring_services.Draft(title=title, body="Text.")
                authoring_services.save(None, draft, author, "schedule", when)
            # The worker's passes during the week and on Monday, at frozen times:
            for at in (
                monday - timedelta(hours=1),  # Monday 07:00: last week's digest not yet due...
                monday,
                monday + timedelta(hours=5),
                monday + timedelta(days=3),
            ):
                outbox.run_once("w1", now=at)
            digests = [m for m in inbox.messages if m["Subject"].startswith("This week")]
            # ...but the digest of the week before (with "Old news") went out at 07:00.
            assert sorted(m["Subject"] for m in digests) == [
                "This week on The AlliedUP Co-op Blog: 1 new post",
                "This week on The AlliedUP Co-op Blog: 1 new post",
                "This week on The AlliedUP Co-op Blog: 2 new posts",
                "This week on The AlliedUP Co-op Blog: 2 new posts",
            ]
            two = [m for m in digests if "2 new posts" in m["Subject"]]
            assert sorted(m["To"] for m in two) == sorted(weekly)
            body = text_of(two[0])
            assert "Tuesday post" in body and "Sunday post" in body and "Old news" not in body
            outbox.run_once("w1", now=monday + timedelta(days=7))  # the next Monday: no posts
            assert len([m for m in inbox.messages if m["Subject"].startswith("This week")]) == 4


def test_flask_run_prints_every_email_with_its_links_when_no_mail_server_is_set(
    sqlite_template, tmp_path
):
    """Issue 17's first step: a newcomer finds the confirmation link in the server's output."""
    import shutil

    database = tmp_path / "blog.sqlite3"
    shutil.copy(sqlite_template, database)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "FLASK_", "WERKZEUG_"))
    }
    env.update(app_env(f"sqlite:///{database}"), PYTHONUNBUFFERED="1")
    log = tmp_path / "server.log"
    command = [*FLASK, "run", "--port", str(port)]
    with (
        open(log, "wb") as output,
        started(command, env, output=output, stop=signal.SIGINT) as process,
    ):
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, process=process)
        http = requests.Session()
        http.trust_env = False
        page = http.get(base + "/auth/register", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        password = "a long enough passphrase here"
        response = http.post(
            base + "/auth/register",
            data={
                "csrf_token": token,
                "username": "newcomer",
                "email": "newcomer@example.org",
                "password": password,
                "confirm": password,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302
        deadline = time.monotonic() + 10
        link = None
        while link is None and time.monotonic() < deadline:
            printed = log.read_text(errors="replace")
            match = re.search(r"(http://\S+/auth/confirm/[\w.\-]+)", printed)
            link = match.group(1) if match else None
            time.sleep(0.1)
        assert link, log.read_text(errors="replace")[-3000:]
        assert "To: newcomer@example.org" in printed
        assert "Subject: Confirm your email address" in printed
        confirm_path = re.search(r"/auth/confirm/[\w.\-]+", link).group(0)
        page = http.get(base + confirm_path, timeout=10)
        assert page.status_code == 200 and "Confirm email" in page.text


def test_mail_a_committed_change_promised_is_delivered_once_by_a_worker_started_later(
    app, database_url
):
    """The other half of the outbox: the changes commit while no deliverer runs (a server
    that died before sending), and a worker started afterwards sends each promised mail,
    once, even when it is itself stopped and another started after it."""
    with app.app_context():
        slug = make_post(make_user("writer", role=Role.AUTHOR), title="Writer's post").slug
        make_user("mia")
        reader = add_subscribers(1)[0]
    client = app.test_client()
    # Three committed changes, each promising mail: a reset, a comment that notifies the
    # post's author, and a post published for a subscriber.
    token = csrf_token(client, "/auth/reset")
    reset = client.post("/auth/reset", data={"email": "mia@example.org", "csrf_token": token})
    assert reset.status_code == 302
    member = app.test_client()
    AuthActions(member).login("mia")
    response = post_form(member, f"/posts/{slug}/comments", {"body": "Who covers Friday?"})
    assert response.status_code in (302, 303), response.status_code
    with app.app_context():
        subject = publish("Rota for December")
        # The "process" ends here: nothing was sent, and every promise is a row on disk.
        waiting = db.session.scalars(
            select(OutboxMessage.to_address).where(OutboxMessage.status == "pending")
        ).all()
        db.session.remove()
    # The reset and the comment's mail are outbox rows; the post's is its newsletter issue,
    # committed with it, which the worker fans out to the subscribers it finds then.
    assert sorted(waiting) == ["mia@example.org", "writer@example.org"]
    promised = Counter([*waiting, reader])
    with smtp_server() as (inbox, port):
        with worker(database_url, port):
            inbox.wait_for(len(promised), timeout=30)
            settle(inbox, 0.5)
        with worker(database_url, port):  # a restart sends nothing again
            settle(inbox, 1.5)
    assert Counter(m["To"] for m in inbox.messages) == promised  # each once, nothing more
    assert [m["To"] for m in inbox.messages if m["Subject"] == subject] == [reader]
    assert "Reset your password" in [m["Subject"] for m in inbox.messages]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "sent")) == 0


def test_flask_run_with_a_mail_server_delivers_by_itself_by_default(sqlite_template, tmp_path):
    """MAIL_SERVER set and MAIL_DELIVERY left to its default: outside production the
    server's own thread delivers (no worker command), straight to the SMTP server."""
    import shutil

    database = tmp_path / "blog.sqlite3"
    shutil.copy(sqlite_template, database)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "FLASK_", "WERKZEUG_", "BLOG_ENV"))
    }
    with smtp_server() as (inbox, smtp_port):
        env.update(
            app_env(f"sqlite:///{database}"), MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port)
        )
        with started([*FLASK, "run", "--port", str(port)], env, stop=signal.SIGINT) as process:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, process=process)
            http = requests.Session()
            http.trust_env = False
            response = http.post(
                base + "/subscribe", data={"email": "reader@example.org"}, timeout=10
            )
            assert response.status_code == 200, response.status_code
            message = inbox.wait_for(1, timeout=15)[0]
    assert message["To"] == "reader@example.org"
    assert message["Subject"].startswith("Confirm your subscription")


def test_a_worker_process_sends_last_weeks_digest_once(app, database_url):
    """The digest through a real worker at the real time: last week's posts go out in one
    digest per weekly subscriber, once, and a restarted worker doesn't send it again."""
    from blogapp.newsletter import issues

    with app.app_context():
        weekly = add_subscribers(2, frequency="weekly", prefix="weekly")
        _, start, end = issues.digest_window(utcnow().replace(tzinfo=UTC))
        author = make_user(role=Role.AUTHOR)
        for title, when in (
            ("Before the week", start - timedelta(hours=1)),
            ("In the week", start + timedelta(hours=1)),
            ("End of the week", end - timedelta(hours=1)),
        ):
            draft = authoring_services.Draft(title=title, body="Text.")
            authoring_services.save(None, draft, author, "schedule", when)
        zone = app.config["BLOG_TIMEZONE"]
    with smtp_server() as (inbox, port):
        with worker(database_url, port, BLOG_TIMEZONE=zone):
            inbox.wait_for(2, timeout=30)
            settle(inbox, 0.5)
        with worker(database_url, port, BLOG_TIMEZONE=zone):
            settle(inbox, 1.5)
    subject = "This week on The AlliedUP Co-op Blog: 2 new posts"
    exactly_once(inbox, weekly, subject)
    assert len(inbox.messages) == 2
    body = text_of(inbox.messages[0])
    assert "In the week" in body and "End of the week" in body and "Before the week" not in body
