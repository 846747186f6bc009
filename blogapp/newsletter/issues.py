"""Newsletter issues: one per published post, one per week's digest, each sent exactly once.

Publishing (or scheduling) a post writes its issue in the same commit (``announce``). The
worker (``prepare``) makes the week's digest issue once the week is over, and, when an
issue's time has come (a scheduled post's too), writes one outbox row per subscriber who
wants it with a single INSERT ... SELECT: no subscriber is loaded into memory, and the
unique (newsletter, subscriber) index makes a second expansion impossible.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, exists, false, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import database, site_settings
from ..email import OUTBOX_ADDED
from ..extensions import db
from ..models import (
    Frequency,
    Newsletter,
    NewsletterKind,
    OutboxMessage,
    OutboxStatus,
    Post,
    PostKind,
    PostStatus,
    Subscriber,
    SubscriberStatus,
    subscriber_categories,
    utcnow,
)

VISIBLE = (PostStatus.PUBLISHED, PostStatus.SCHEDULED)


def announce(post: Post) -> None:
    """A post was published or scheduled: its issue goes out when it becomes visible.

    Called before the post's commit, so the post and its issue are saved together. An
    issue already sent is never sent again (re-publishing after an unpublish sends nothing).
    """
    if post.kind != PostKind.POST or post.status not in VISIBLE or post.published_at is None:
        return
    issue = None
    if post.id is not None:
        issue = db.session.scalar(select(Newsletter).where(Newsletter.post_id == post.id))
    if issue is None:
        issue = Newsletter(kind=NewsletterKind.POST, post=post, send_after=post.published_at)
        db.session.add(issue)
    elif issue.expanded_at is None:
        issue.send_after = post.published_at
    db.session.info[OUTBOX_ADDED] = True  # a delivery thread wakes at the commit


def digest_window(now: datetime) -> tuple[str, datetime, datetime]:
    """The last week whose digest is due by now: (period, start, end), in UTC.

    A digest week runs from Monday at NEWSLETTER_DIGEST_HOUR (BLOG_TIMEZONE) to the next
    Monday at that hour, when its digest goes out; the period names the starting ISO week.
    """
    zone = ZoneInfo(current_app.config["BLOG_TIMEZONE"])
    hour = int(current_app.config["NEWSLETTER_DIGEST_HOUR"])
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    release = datetime.combine(monday, time(hour), tzinfo=zone)
    if local < release:
        monday -= timedelta(days=7)
        release = datetime.combine(monday, time(hour), tzinfo=zone)
    start = datetime.combine(monday - timedelta(days=7), time(hour), tzinfo=zone)
    year, week, _ = (monday - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}", start.astimezone(UTC), release.astimezone(UTC)


def make_digest(now: datetime) -> None:
    """Write the last week's digest issue, once (the unique period settles races)."""
    period, start, end = digest_window(now)
    if db.session.scalar(select(Newsletter.id).where(Newsletter.period == period)):
        return
    with database.writing():
        db.session.add(
            Newsletter(
                kind=NewsletterKind.DIGEST,
                period=period,
                starts_at=start,
                ends_at=end,
                send_after=end,
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another worker made it first


def digest_posts(issue: Newsletter) -> list[Post]:
    return list(
        db.session.scalars(
            select(Post)
            .where(
                Post.kind == PostKind.POST,
                Post.status.in_(VISIBLE),
                Post.published_at >= issue.starts_at,
                Post.published_at < issue.ends_at,
            )
            .order_by(Post.published_at, Post.id)
        )
    )


def _wants(category_ids: set[int | None]) -> object:
    """Subscribers who want all categories, or one of these."""
    ids = {c for c in category_ids if c is not None}
    if not ids:
        return Subscriber.all_categories.is_(True)
    return or_(
        Subscriber.all_categories.is_(True),
        exists().where(
            subscriber_categories.c.subscriber_id == Subscriber.id,
            subscriber_categories.c.category_id.in_(ids),
        ),
    )


def _recipients(issue: Newsletter, now: datetime) -> tuple[object, str] | None:
    """The WHERE clause for who gets this issue and its subject; None: not (yet) sendable."""
    site = site_settings.current().title
    if issue.kind == NewsletterKind.POST:
        post = issue.post
        if post is None or not post.is_visible(now):
            return None
        return (
            and_(Subscriber.frequency == Frequency.EVERY_POST, _wants({post.category_id})),
            post.title,
        )
    if issue.kind == NewsletterKind.DIGEST:
        posts = digest_posts(issue)
        if not posts:
            return false(), ""
        noun = "post" if len(posts) == 1 else "posts"
        return (
            and_(
                Subscriber.frequency == Frequency.WEEKLY,
                _wants({p.category_id for p in posts}),
            ),
            f"This week on {site}: {len(posts)} new {noun}",
        )
    return None


def expand(issue_id: int, now: datetime | None = None) -> int:
    """Queue the issue for its subscribers, once; how many rows were written."""
    now = now or utcnow()
    with database.writing():
        issue = db.session.get(Newsletter, issue_id)
        target = _recipients(issue, now) if issue is not None else None
        if target is None:
            db.session.rollback()
            return 0
        where, subject = target
        # Claim it: only one worker's UPDATE finds expanded_at still empty.
        claimed = db.session.execute(
            update(Newsletter)
            .where(Newsletter.id == issue_id, Newsletter.expanded_at.is_(None))
            .values(expanded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            return 0
        rows = select(
            literal(issue_id),
            Subscriber.id,
            Subscriber.email,
            literal(subject[:300]),
            literal(""),
            literal("{}"),
            literal(OutboxStatus.PENDING.value),
            literal(0),
            literal(now, OutboxMessage.next_attempt_at.type),
            literal(""),
            literal(now, OutboxMessage.created_at.type),
        ).where(Subscriber.status == SubscriberStatus.CONFIRMED, where)
        written = db.session.execute(
            insert(OutboxMessage).from_select(
                [
                    "newsletter_id",
                    "subscriber_id",
                    "to_address",
                    "subject",
                    "text_body",
                    "headers_json",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "created_at",
                ],
                rows,
            )
        ).rowcount
        db.session.execute(
            update(Newsletter)
            .where(Newsletter.id == issue_id)
            .values(recipients=written)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return written


def prepare(now: datetime | None = None) -> int:
    """The worker's newsletter step: this week's digest, then every issue whose time came."""
    now = now or utcnow()
    make_digest(now)
    due = db.session.scalars(
        select(Newsletter.id)
        .outerjoin(Post, Newsletter.post_id == Post.id)
        .where(
            Newsletter.expanded_at.is_(None),
            Newsletter.send_after <= now,
            Newsletter.kind != NewsletterKind.TEST,
            # A post's issue waits while the post is unpublished (it may come back).
            or_(Newsletter.post_id.is_(None), Post.status.in_(VISIBLE)),
        )
        .order_by(Newsletter.send_after)
        .limit(20)
    ).all()
    db.session.commit()
    return sum(expand(issue_id, now) for issue_id in due)
