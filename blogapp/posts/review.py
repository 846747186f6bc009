"""Clinical review: draft -> in review -> approved -> published, and the review cycle.

Rules (each enforced here, on the server):
- A post in a category that needs review is published or scheduled only when its newest
  revision was approved by a clinical reviewer who is neither its author nor that
  revision's editor; otherwise ReviewRequired (the view answers 403 with the reason).
- While such a post is live, saving new text keeps the approved text live: the new
  revision waits (``guards_live_text``) until it is approved and published.
- An editor may publish a non-clinical fix (with a change note) to a live, reviewed post
  without a new review; the revision is marked as a fix.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import (
    Post,
    PostKind,
    PostRevision,
    ReviewDecision,
    ReviewStatus,
    Setting,
    User,
    utcnow,
)
from . import revisions

PUBLISHABLE = (ReviewStatus.APPROVED, ReviewStatus.FIX)
DUE_SOON_DAYS = 30
OVERDUE_NOTE_SETTING = "review_overdue_note"  # "off" hides the readers' overdue note


class ReviewRequired(PermissionError):
    """Publishing refused until the current version is approved; str() says why."""


class ReviewError(ValueError):
    """A review decision that can't be made; .status is the HTTP answer (403 or 409)."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


def needs_review(post: Post) -> bool:
    return post.kind == PostKind.POST and post.category is not None and post.category.needs_review


def guards_live_text(post: Post) -> bool:
    """True when new text must wait: the post needs review and readers see it now."""
    return post.id is not None and needs_review(post) and post.is_visible()


def apply_text(post: Post, revision: PostRevision) -> None:
    """Make a revision the text readers see (rendered and sanitized as it goes in)."""
    from .services import render_content

    changed = revisions.Text.of(post) != revisions.Text.of(revision)
    post.title, post.body_md, post.excerpt = revision.title, revision.body_md, revision.excerpt
    render_content(post)
    if changed and post.published_at is not None and post.published_at <= utcnow():
        post.content_updated_at = utcnow()
    post.live_revision_id = revision.id


def check_publish(post: Post, revision: PostRevision, actor: User, fix_note: str | None) -> bool:
    """May this revision go out? True when as a non-clinical fix; raises ReviewRequired.

    fix_note: the change note when the person asked to publish a non-clinical fix.
    """
    if not needs_review(post) or post.review_status in PUBLISHABLE:
        return False
    if fix_note is not None:
        if not actor.is_editor:
            raise ReviewRequired("Only editors may publish a non-clinical fix without review.")
        if post.live_review_id is None or not post.is_visible():
            raise ReviewRequired(
                "A non-clinical fix is for a post whose reviewed version is already live."
            )
        if not fix_note.strip():
            raise ReviewRequired("Describe the non-clinical fix in the change note.")
        return True
    category = post.category.name
    reasons = {
        ReviewStatus.IN_REVIEW: "This version is waiting for a clinical reviewer's approval.",
        ReviewStatus.CHANGES_REQUESTED: "A clinical reviewer asked for changes to this version;"
        " make them and submit it for review again.",
    }
    raise ReviewRequired(
        reasons.get(
            post.review_status,
            f"Posts in “{category}” need a clinical reviewer's approval of this exact version"
            " before they are published. Press “Submit for review” first.",
        )
    )


def go_live(post: Post, revision: PostRevision, as_fix: bool) -> None:
    """The revision becomes the live text, with its approval shown (or kept, for a fix)."""
    if guards_live_text(post) or post.live_revision_id != revision.id:
        apply_text(post, revision)
    if not needs_review(post):
        return
    if as_fix:
        revision.kind = "fix"
        post.review_status = ReviewStatus.FIX
        return
    approval = latest_approval(revision)
    if approval is not None:
        post.live_review_id = approval.id


def submit(post: Post, actor: User) -> None:
    """Ask for review of the newest revision (the caller commits)."""
    if not needs_review(post) or post.review_status in (
        ReviewStatus.IN_REVIEW,
        ReviewStatus.APPROVED,
    ):
        return
    post.review_status = ReviewStatus.IN_REVIEW
    audit.record(actor, audit.Action.SUBMIT, post, f"revision {_number(post)}")


def decide(post: Post, number: int, reviewer: User, approve: bool, note: str) -> ReviewDecision:
    """Approve or request changes on revision `number`, which must still be the newest."""
    newest = revisions.latest(post)
    if not reviewer.is_reviewer:
        raise ReviewError("Only clinical reviewers can review posts.", 403)
    if newest is None or reviewer.id in (post.author_id, newest.editor_id):
        raise ReviewError("You can't review a post you wrote or edited.", 403)
    if newest.number != number:
        raise ReviewError("The post changed while you were reading it; read the new version.")
    if post.review_status != ReviewStatus.IN_REVIEW:
        raise ReviewError("This post isn't waiting for review.")
    note = note.strip()[:5000]
    if not approve and not note:
        raise ReviewError("Say what should change: the author sees your note.", 400)
    decision = ReviewDecision(
        post_id=post.id,
        revision=newest,
        reviewer=reviewer,
        reviewer_name=reviewer.name,
        credentials=reviewer.reviewer_credentials.strip(),
        decision="approved" if approve else "changes_requested",
        note=note,
    )
    db.session.add(decision)
    db.session.flush()
    if approve:
        post.review_status = ReviewStatus.APPROVED
        # The category may have gone since it was submitted: the default cycle then.
        months = post.category.review_months if post.category is not None else 12
        post.next_review_on = add_months(utcnow().date(), months)
        if post.live_revision_id == newest.id and post.is_visible():
            post.live_review_id = decision.id  # a re-review of the live text shows at once
        audit.record(reviewer, audit.Action.APPROVE, post, f"revision {number}")
    else:
        post.review_status = ReviewStatus.CHANGES_REQUESTED
        audit.record(reviewer, audit.Action.REQUEST_CHANGES, post, f"revision {number}: {note}")
    db.session.commit()
    return decision


def latest_approval(revision: PostRevision) -> ReviewDecision | None:
    return db.session.scalar(
        select(ReviewDecision)
        .where(ReviewDecision.revision_id == revision.id, ReviewDecision.decision == "approved")
        .order_by(ReviewDecision.id.desc())
        .limit(1)
    )


def latest_decision(post: Post) -> ReviewDecision | None:
    """The newest decision on the post's newest revision (the author sees its note)."""
    newest = revisions.latest(post)
    if newest is None:
        return None
    return db.session.scalar(
        select(ReviewDecision)
        .where(ReviewDecision.revision_id == newest.id)
        .order_by(ReviewDecision.id.desc())
        .limit(1)
    )


def queue(reviewer: User) -> list[Post]:
    """Posts waiting for review that this reviewer didn't write, oldest request first."""
    return list(
        db.session.scalars(
            select(Post)
            .where(Post.review_status == ReviewStatus.IN_REVIEW, Post.author_id != reviewer.id)
            .order_by(Post.updated_at, Post.id)
        )
    )


def due(user: User, today: date | None = None) -> list[Post]:
    """Live posts whose next review is within DUE_SOON_DAYS or past (an author: their own)."""
    today = today or utcnow().date()
    query = (
        select(Post)
        .where(
            Post.next_review_on.is_not(None),
            Post.next_review_on <= today + timedelta(days=DUE_SOON_DAYS),
            Post.live_review_id.is_not(None),
        )
        .order_by(Post.next_review_on, Post.id)
    )
    if not (user.is_editor or user.is_reviewer):
        query = query.where(Post.author_id == user.id)
    return [post for post in db.session.scalars(query) if post.is_visible()]


@dataclass
class ReaderFacts:
    """What readers are told about a post's review and changes."""

    approval: ReviewDecision | None
    updated: object | None  # datetime of the last change to the live text
    notes: list[PostRevision]
    overdue: bool
    history_note: str


def reader_facts(post: Post) -> ReaderFacts:
    approval = db.session.get(ReviewDecision, post.live_review_id) if post.live_review_id else None
    notes = revisions.public_notes(post) if post.content_updated_at else []
    overdue = bool(
        approval is not None
        and post.next_review_on is not None
        and post.next_review_on < utcnow().date()
        and overdue_note_enabled()
    )
    return ReaderFacts(approval, post.content_updated_at, notes, overdue, post.review_history_note)


def overdue_note_enabled() -> bool:
    setting = db.session.get(Setting, OVERDUE_NOTE_SETTING)
    return setting is None or setting.value != "off"


def set_overdue_note(enabled: bool, actor: User) -> None:
    setting = db.session.get(Setting, OVERDUE_NOTE_SETTING)
    if setting is None:
        setting = Setting(key=OVERDUE_NOTE_SETTING)
        db.session.add(setting)
    setting.value = "on" if enabled else "off"
    audit.record(
        actor, audit.Action.SETTINGS_CHANGE, setting, f"overdue review note {setting.value}"
    )
    db.session.commit()


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _number(post: Post) -> int:
    newest = revisions.latest(post)
    return newest.number if newest else 0
