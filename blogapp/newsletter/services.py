"""Subscribers: subscribe, confirm, choose, unsubscribe; the admin's lists and counts.

Every answer to a visitor is the same whether or not the address was known: what differs
is only the email (a confirmation link, or a "you are already subscribed" note), and at
most one of those goes to an address per hour.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from ..extensions import db
from ..models import Category, Frequency, Subscriber, SubscriberStatus, utcnow
from ..tokens import make_token, read_token

CONFIRM_MAX_AGE = 7 * 24 * 3600
MAIL_INTERVAL = timedelta(hours=1)  # at most one confirmation (or note) per address per hour


@dataclass(frozen=True)
class Choices:
    """What a subscriber wants: every post or weekly; all categories, or these ids."""

    frequency: str = Frequency.EVERY_POST
    category_ids: tuple[int, ...] = ()  # empty: all categories

    @property
    def all_categories(self) -> bool:
        return not self.category_ids


def find(email: str) -> Subscriber | None:
    return db.session.scalar(select(Subscriber).where(Subscriber.email_key == email.lower()))


def _apply(subscriber: Subscriber, choices: Choices) -> None:
    subscriber.frequency = Frequency(choices.frequency)
    subscriber.all_categories = choices.all_categories
    wanted = set(choices.category_ids)
    subscriber.categories = (
        list(db.session.scalars(select(Category).where(Category.id.in_(wanted)))) if wanted else []
    )


def subscribe(email: str, choices: Choices, now: datetime | None = None) -> None:
    """Ask to subscribe: a confirmation email (or a note if already subscribed), rate-capped.

    A confirmed subscriber's choices are not changed from here: only their own links (or
    their account) can, so nobody can alter someone else's subscription by typing it.
    """
    from . import mails

    now = now or utcnow()
    subscriber = find(email)
    if subscriber is None:
        subscriber = Subscriber(email=email, email_key=email.lower(), link_key=_new_key())
        db.session.add(subscriber)
    elif subscriber.confirmation_sent_at and now - subscriber.confirmation_sent_at < MAIL_INTERVAL:
        db.session.rollback()
        return  # one mail an hour at most: the answer is the same, nothing more is sent
    if subscriber.status == SubscriberStatus.CONFIRMED:
        subscriber.confirmation_sent_at = now
        db.session.flush()
        mails.already_subscribed(subscriber)
    else:
        subscriber.status = SubscriberStatus.PENDING
        _apply(subscriber, choices)
        subscriber.confirmation_sent_at = now
        db.session.flush()
        mails.confirmation(subscriber)
    db.session.commit()


def subscribe_confirmed(email: str, choices: Choices) -> Subscriber:
    """A member with a confirmed address subscribes (or changes choices) from their account."""
    subscriber = find(email)
    if subscriber is None:
        subscriber = Subscriber(email=email, email_key=email.lower(), link_key=_new_key())
        db.session.add(subscriber)
    _apply(subscriber, choices)
    if subscriber.status != SubscriberStatus.CONFIRMED:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = utcnow()
    db.session.commit()
    return subscriber


def _new_key() -> str:
    return secrets.token_hex(8)


# --- links: confirm and unsubscribe --------------------------------------------------------


def confirm_token(subscriber: Subscriber) -> str:
    return make_token("newsletter-confirm", {"s": subscriber.id, "k": subscriber.link_key})


def unsubscribe_token(subscriber_id: int, link_key: str) -> str:
    # Never expires (an old newsletter's link still works), but dies with the key.
    return make_token("newsletter-unsubscribe", {"s": subscriber_id, "k": link_key})


def _read(purpose: str, token: str, max_age: int | None) -> Subscriber | None:
    data = read_token(purpose, token, max_age)
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return None
    subscriber = db.session.get(Subscriber, data["s"])
    if subscriber is None or not secrets.compare_digest(
        str(data.get("k", "")), subscriber.link_key
    ):
        return None
    return subscriber


def read_confirm_token(token: str) -> Subscriber | None:
    return _read("newsletter-confirm", token, CONFIRM_MAX_AGE)


def read_unsubscribe_token(token: str) -> Subscriber | None:
    return _read("newsletter-unsubscribe", token, None)


def confirm(subscriber: Subscriber) -> None:
    if subscriber.status != SubscriberStatus.CONFIRMED:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = utcnow()
        db.session.commit()


def unsubscribe(subscriber: Subscriber) -> None:
    """Stop every newsletter to this address; mail already queued for it is dropped."""
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.link_key = _new_key()  # a re-subscription gets links of its own
    subscriber.confirmation_sent_at = None
    db.session.commit()


# --- admins --------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Subscriber.status, Subscriber.frequency, func.count()).group_by(
            Subscriber.status, Subscriber.frequency
        )
    ).all()
    totals = {status.value: 0 for status in SubscriberStatus}
    totals.update({f"confirmed_{f.value}": 0 for f in Frequency})
    for status, frequency, number in rows:
        totals[status] = totals.get(status, 0) + number
        if status == SubscriberStatus.CONFIRMED:
            totals[f"confirmed_{frequency}"] = totals.get(f"confirmed_{frequency}", 0) + number
    return totals


def search(query: str = "", status: str = "") -> Select:
    statement = select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    query = (query or "").strip().lower()
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(Subscriber.email_key.like(pattern, escape="\\"))
    if status in {s.value for s in SubscriberStatus}:
        statement = statement.where(Subscriber.status == status)
    return statement


def csv_rows(statement: Select, batch: int = 1000) -> Iterator[list[str]]:
    """Rows for the CSV export, read in batches (any number of subscribers, flat memory)."""
    yield ["email", "status", "frequency", "categories", "subscribed", "confirmed"]
    last_id = None
    while True:
        page = statement.order_by(None).order_by(Subscriber.id).limit(batch)
        if last_id is not None:
            page = page.where(Subscriber.id > last_id)
        subscribers = db.session.scalars(page).all()
        if not subscribers:
            return
        for s in subscribers:
            yield [
                _csv_safe(s.email),
                s.status,
                s.frequency,
                "all" if s.all_categories else "; ".join(c.name for c in s.categories),
                s.created_at.isoformat(),
                s.confirmed_at.isoformat() if s.confirmed_at else "",
            ]
        last_id = subscribers[-1].id
        db.session.expunge_all()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to spreadsheets: make it text.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def category_ids(values: Iterable) -> tuple[int, ...]:
    known = set(db.session.scalars(select(Category.id)))
    return tuple(sorted({v for v in values if v in known}))
