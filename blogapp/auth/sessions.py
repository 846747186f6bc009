"""Session records: each sign-in is a row, and the signed cookie names it by a random token.

The cookie stays Flask's signed cookie (the page cache mints anonymous ones for CSRF), but
what it says about being signed in only counts while its record here is live: signing out,
ending a session from /account/sessions, a password change or a suspension end the record,
and a copied cookie stops working on every app server at once, because the record lives in
the database they share.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.exc import OperationalError

from .. import database
from ..extensions import db
from ..models import User, UserSession, utcnow

# last_seen_at is written at most this often: reading pages must not write every request.
TOUCH_EVERY = timedelta(minutes=1)
# Ended and expired records are kept this long (the "seen this browser before" memory).
KEEP_ENDED = timedelta(days=90)
USER_AGENT_MAX = 300


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    user: User,
    *,
    user_agent: str,
    address: str,
    lifetime: timedelta,
    method: str = "password",
) -> tuple[UserSession, str, bool]:
    """A new live record; returns it, the token for the cookie, and whether the browser is new.

    "New" means this account has signed in before, but never with this browser.
    """
    user_agent = (user_agent or "")[:USER_AGENT_MAX]
    earlier = db.session.scalars(
        select(UserSession.user_agent).where(UserSession.user_id == user.id).limit(200)
    ).all()
    new_browser = bool(earlier) and user_agent not in earlier
    token = secrets.token_urlsafe(32)
    now = utcnow()
    record = UserSession(
        user_id=user.id,
        token_hash=_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=user_agent,
        address=address,
        method=method,
    )
    db.session.add(record)
    db.session.commit()
    return record, token, new_browser


# Built once: making the statement cost about as much as running it, on every request.
_LIVE = (
    select(UserSession, User)
    .join(User, User.id == UserSession.user_id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.user_id == bindparam("user_id"),
    )
)


def live(user_id: int, token: str) -> tuple[UserSession, User] | None:
    """The user's record for this token, and the user, while it is neither ended nor expired.

    One query for both: every signed-in request runs it.
    """
    row = db.session.execute(_LIVE, {"token_hash": _hash(token), "user_id": user_id}).first()
    if row is None or not is_live(row[0]):
        return None
    return row[0], row[1]


def is_live(record: UserSession, now: datetime | None = None) -> bool:
    return record.ended_at is None and record.expires_at > (now or utcnow())


def touch(record: UserSession) -> None:
    """Note that the session was used, at most once a minute."""
    now = utcnow()
    if now - record.last_seen_at < TOUCH_EVERY:
        return
    try:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == record.id)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except OperationalError:
        # SQLite: another request of this session noted the visit since this one began
        # reading, so this read transaction can't take the write lock ("database is
        # locked" at once). The visit is noted; the request goes on, never a 503.
        db.session.rollback()
        if not database.is_sqlite():
            raise
        return
    record.last_seen_at = now


def active(user: User) -> list[UserSession]:
    """The user's live sessions, the most recently used first."""
    return list(
        db.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end(user: User, session_id: int) -> bool:
    """End one of the user's sessions; False when it isn't theirs or is already over."""
    result = db.session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount > 0


def end_all(user: User, *, keep: int | None = None, commit: bool = True) -> int:
    """End every live session of the user but `keep`; returns how many were ended."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    result = db.session.execute(statement)
    if commit:
        db.session.commit()
    return result.rowcount


def purge(now: datetime | None = None) -> int:
    """Delete records that ended or expired more than KEEP_ENDED ago."""
    cutoff = (now or utcnow()) - KEEP_ENDED
    result = db.session.execute(
        delete(UserSession)
        .where(or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def describe_browser(user_agent: str) -> str:
    """A short human name for a User-Agent string ("Firefox on Linux")."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for needle, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("curl/", "curl"),
            )
            if needle in ua
        ),
        "Unknown browser",
    )
    system = next(
        (
            name
            for needle, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if needle in ua
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser
