"""Delivering the outbox: claim due rows, send them, retry with backoff, give up at a limit.

A row is claimed by one atomic UPDATE that marks it ``sending`` for this worker until a
lease runs out (PostgreSQL picks the rows with ``FOR UPDATE SKIP LOCKED``, so workers
never wait for each other; on SQLite the write lock serializes claims). Each message is
marked sent in its own commit right after the server accepted it, so a worker killed
mid-run leaves only its unsent claims, which any worker takes again once the lease is
over. (The one gap SMTP itself leaves, RFC 1047: a kill between the server's "250 OK" and
our commit means that single message goes again; it keeps its Message-ID.)

``flask --app blogapp worker`` runs the loop; with MAIL_DELIVERY=thread (development, and
whenever no MAIL_SERVER is set) a daemon thread in each server process does the same,
woken at once by every commit that queued mail.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import smtplib
import socket
import threading
import uuid
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.orm import Session

from . import database
from .email import OUTBOX_ADDED, SEND_ERRORS, Transport, build_message
from .extensions import db
from .models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)
_THREAD = "outbox_thread"
_random = secrets.SystemRandom()


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, base: float) -> timedelta:
    """Wait before try number attempts+1: base, 2×, 4×, ... capped at 6 hours, ±10 %."""
    seconds = min(base * 2 ** max(attempts - 1, 0), 6 * 3600)
    # Jitter spreads the retries of many messages that failed together.
    return timedelta(seconds=seconds * _random.uniform(0.9, 1.1))


def claim(worker: str, limit: int, now: datetime | None = None) -> list[int]:
    """Mark up to limit due rows as this worker's; their ids (committed)."""
    now = now or utcnow()
    lease = timedelta(seconds=float(current_app.config["MAIL_CLAIM_SECONDS"]))
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        # A worker that died (or hung) mid-batch: its lease is over, the rows are free again.
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )
    candidates = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
    if not database.is_sqlite():
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
        .values(
            status=OutboxStatus.SENDING,
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    with database.writing():
        # A message whose sender died mid-send too often (it may be what kills it): failed.
        db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_until < now,
                OutboxMessage.attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]),
            )
            .values(status=OutboxStatus.FAILED, last_error="the worker stopped while sending it")
            .execution_options(synchronize_session=False)
        )
        ids = sorted(db.session.scalars(statement).all())
        db.session.commit()
    return ids


def _finish(row_id: int, worker: str, **values) -> None:
    """Record a message's outcome, if it is still this worker's claim."""
    with database.writing():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _failed(row: dict, worker: str, error: BaseException | str) -> None:
    config = current_app.config
    text = str(error)[:500] or type(error).__name__
    if row["attempts"] >= int(config["MAIL_MAX_ATTEMPTS"]):
        log.error("giving up on email %s to %s: %s", row["id"], row["to"], text)
        _finish(row["id"], worker, status=OutboxStatus.FAILED, last_error=text)
        return
    log.warning("email %s to %s failed (try %s): %s", row["id"], row["to"], row["attempts"], text)
    wait = backoff(row["attempts"], float(config["MAIL_RETRY_SECONDS"]))
    _finish(
        row["id"],
        worker,
        status=OutboxStatus.PENDING,
        last_error=text,
        next_attempt_at=utcnow() + wait,
    )


def _load(ids: list[int]) -> list[dict]:
    """The claimed rows as plain values, newsletter ones built for their subscriber."""
    from .newsletter import mails as newsletter_mails

    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    newsletter_mails.preload([row.subscriber_id for row in rows if row.subscriber_id])
    loaded = []
    for row in rows:
        item = {
            "id": row.id,
            "to": row.to_address,
            "attempts": row.attempts,
            "subject": row.subject,
            "text": row.text_body,
            "html": row.html_body,
        }
        try:
            item["headers"] = dict(json.loads(row.headers_json or "{}"))
        except (ValueError, TypeError) as error:
            item["broken"] = f"unreadable headers: {error}"
        if row.newsletter_id is not None:
            built = newsletter_mails.build(row.newsletter_id, row.subscriber_id)
            if built is None:  # the subscriber left (or the post went) before it was sent
                item["cancel"] = True
            else:
                item.update(built)
        loaded.append(item)
    db.session.commit()  # end the read: nothing is held while talking to SMTP
    return loaded


def deliver_batch(worker: str, limit: int, now: datetime | None = None) -> int:
    """Claim and send one batch; how many rows it handled."""
    ids = claim(worker, limit, now)
    if not ids:
        return 0
    rows = _load(ids)
    try:
        with Transport() as transport:
            for row in rows:
                if row.get("cancel"):
                    _finish(row["id"], worker, status=OutboxStatus.CANCELLED)
                    continue
                if row.get("broken"):
                    _failed(row, worker, row["broken"])
                    continue
                try:
                    message = build_message(
                        row["id"],
                        row["to"],
                        row["subject"],
                        row["text"],
                        row["html"],
                        row["headers"],
                    )
                    transport.send(message)
                except SEND_ERRORS as error:
                    _failed(row, worker, error)
                    # SMTPException is an OSError too: only a lost connection stops the batch.
                    if isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(
                        error, smtplib.SMTPException
                    ):
                        raise  # the connection is gone: the rest of the batch waits too
                    continue
                except Exception as error:  # noqa: BLE001 - one bad message never stops the rest
                    log.exception("email %s could not be built or sent", row["id"])
                    _failed(row, worker, error)
                    continue
                _finish(row["id"], worker, status=OutboxStatus.SENT, sent_at=utcnow())
    except SEND_ERRORS as error:
        # Could not connect, or the connection died: every row not yet done is retried.
        still_mine = db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == worker,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
        ).all()
        db.session.commit()
        for row in rows:
            if row["id"] in still_mine:
                _failed(row, worker, error)
    return len(ids)


def run_once(worker: str, now: datetime | None = None, limit: int | None = None) -> int:
    """One pass: start newsletters that are due, then send what is due; rows handled."""
    from .newsletter import issues

    issues.prepare(now)
    batch = int(current_app.config["MAIL_BATCH_SIZE"])
    done = 0
    while limit is None or done < limit:
        handled = deliver_batch(worker, batch if limit is None else min(batch, limit - done), now)
        if not handled:
            break
        done += handled
    return done


def counts() -> dict[str, int]:
    """Rows per status: what the admin's mail page shows."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: number for status, number in rows}


def retry(row_ids: list[int] | None = None) -> int:
    """Failed rows (these, or all) go back in the queue for a fresh set of tries."""
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if row_ids is not None:
        statement = statement.where(OutboxMessage.id.in_(row_ids))
    changed = db.session.execute(statement).rowcount
    db.session.info[OUTBOX_ADDED] = True
    db.session.commit()
    return changed


# --- running it: the worker loop and the development thread ----------------------------------


def work(app: Flask, stop: threading.Event, wake: threading.Event | None = None) -> None:
    """Deliver until stop is set, checking every WORKER_POLL_SECONDS (or when woken)."""
    worker = worker_name()
    poll = float(app.config["WORKER_POLL_SECONDS"])
    wake = wake or stop  # the worker command: a stop request ends the wait at once
    while not stop.is_set():
        with app.app_context():
            try:
                run_once(worker)
            except Exception:  # noqa: BLE001 - the loop outlives a bad pass (DB down...)
                log.exception("mail delivery pass failed; trying again shortly")
                db.session.rollback()
            finally:
                db.session.remove()
        wake.wait(poll)
        if wake is not stop:
            wake.clear()


class DeliveryThread:
    """The in-process deliverer (MAIL_DELIVERY=thread): started by the first request."""

    def __init__(self, app: Flask):
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(
            target=work, args=(app, self.stop, self.wake), name="outbox", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        self.thread.join(10)


_start_lock = threading.Lock()


def _start_thread() -> None:
    # Started by a request, never at import or in `flask` commands: under the reloader
    # only the child process serves requests, so exactly one thread runs per server process.
    app = current_app._get_current_object()
    if _THREAD in app.extensions:
        return
    with _start_lock:
        if _THREAD not in app.extensions:
            app.extensions[_THREAD] = DeliveryThread(app)


def stop_thread(app: Flask) -> None:
    delivery = app.extensions.pop(_THREAD, None)
    if delivery is not None:
        delivery.close()


def _wake_after_commit(session: Session) -> None:
    if session.info.pop(OUTBOX_ADDED, False):
        try:
            delivery = current_app.extensions.get(_THREAD)
        except RuntimeError:  # committed outside an app context
            return
        if delivery is not None:
            delivery.wake.set()


def _forget_after_rollback(session: Session, previous_transaction) -> None:
    session.info.pop(OUTBOX_ADDED, None)


_listening = False


def init_app(app: Flask) -> None:
    global _listening
    if app.config["MAIL_DELIVERY"] == "thread":
        app.before_request(_start_thread)
    if not _listening:
        _listening = True
        event.listen(Session, "after_commit", _wake_after_commit)
        event.listen(Session, "after_soft_rollback", _forget_after_rollback)
