"""What changes comments: add, edit, delete, moderate, follow, purge; and the queue's queries.

Plain values in (posts, users, drafts, ids), never the request, session or current user:
the same functions serve views, email links, commands and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.orm import aliased

from .. import audit, site_settings
from ..extensions import db
from ..inputs import optional_int
from ..markup import render_comment
from ..models import Comment, CommentStatus, Post, Subscription, User, utcnow
from . import moderation, notifications
from .moderation import Action, Refused, Verdict

# ---------------------------------------------------------------- who may change a comment


def can_edit(comment: Comment, user: User | None) -> bool:
    """Its signed-in author, within the edit window, while it is shown or held."""
    if user is None or not user.is_authenticated or user.suspended:
        return False
    if comment.user_id != user.id:
        return False  # before the window: reading the settings may cost a query
    window = timedelta(minutes=site_settings.current().comment_edit_minutes)
    return (
        comment.status
        in (
            CommentStatus.APPROVED,
            CommentStatus.PENDING,
        )
        and utcnow() < comment.created_at + window
    )


def can_delete(comment: Comment, user: User | None, moderator: bool | None = None) -> bool:
    """The commenter, and whoever moderates the post (moderator, when already known)."""
    if user is None or user.suspended or comment.status == CommentStatus.DELETED:
        return False
    if moderator is None:
        moderator = user.can_moderate(comment.post)
    return moderator or comment.user_id == user.id


def get_comment(comment_id: int) -> Comment | None:
    return db.session.get(Comment, comment_id)


# ---------------------------------------------------------------- posting


@dataclass
class Draft:
    body: str
    name: str = ""
    email: str = ""
    website: str = ""
    parent_id: int | None = None
    honeypot: str = ""
    stamp: str | None = None


def add_comment(post: Post, draft: Draft, user: User | None, ip: str) -> tuple[Comment, Verdict]:
    """Check the rules, store the comment, email whom it concerns; Refused when not accepted."""
    if user is not None and user.suspended:
        raise Refused("Your account is suspended, so you can't comment.", 403)
    if user is None and moderation.suspended_address(draft.email):
        # Signing out doesn't lift a suspension: the same person as a guest is told so too.
        raise Refused("The account with this email address is suspended, so it can't comment.", 403)
    if reason := moderation.closed_reason(post):
        raise Refused(reason, 403)
    parent = None
    if draft.parent_id:
        parent = db.session.get(Comment, draft.parent_id)
        if parent is None or parent.post_id != post.id or parent.status != CommentStatus.APPROVED:
            raise Refused("The comment you replied to is no longer available.", 400)
    body = moderation.clean_text(draft.body).strip()
    email = (user.email if user is not None else draft.email) or ""
    guest_email = "" if user is not None else email.lower()
    moderation.check_flood(ip)
    moderation.check_duplicate(post, body, user, guest_email)
    verdict = moderation.assess(post, body, user, email, draft.honeypot, draft.stamp)
    comment = save_comment(
        post,
        body,
        verdict.status,
        parent,
        user=user,
        guest_name="" if user is not None else moderation.clean_name(draft.name)[:80],
        guest_email=guest_email,
        guest_website="" if user is not None else draft.website.strip()[:300],
        held_reason=verdict.reason[:200],
        ip=ip,
    )
    if not verdict.silent:
        notifications.comment_added(comment)  # queued: written by the same commit
    db.session.commit()
    return comment, verdict


def save_comment(
    post: Post, body: str, status: str, parent: Comment | None = None, **columns
) -> Comment:
    """Store a comment that passed the rules: rendered, in its thread, the post's count right.

    The caller commits. columns are the comment's other columns (user, guest_name, ...).
    """
    comment = Comment(
        post=post,
        parent=parent,
        status=status,
        body_md=body,
        body_html=render_comment(body),
        **columns,
    )
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent is not None else comment.id
    recount(post)
    return comment


def recount(post: Post) -> None:
    """Post.comment_count = approved comments, without touching the post's updated_at."""
    # Lock the post row first, in its own statement: under READ COMMITTED (PostgreSQL) an
    # UPDATE that waited for the row counts with the snapshot it took before waiting, and
    # would miss a comment committed meanwhile. NO KEY UPDATE (key_share) doesn't clash
    # with the KEY SHARE lock that inserting a comment's foreign key holds, so two
    # commenters can't deadlock. SQLite takes the write lock at BEGIN and needs none.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(Post.id).where(Post.id == post.id).with_for_update(key_share=True)
        )
    store_counts(Post.id == post.id)
    db.session.expire(post, ["comment_count", "updated_at"])


def store_counts(*which_posts) -> None:
    """comment_count = approved comments, in one UPDATE for the posts which_posts selects
    (the importer's many, recount's one); updated_at stays: a comment is no edit."""
    approved = (
        select(func.count(Comment.id))
        .where(Comment.post_id == Post.id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    db.session.execute(
        update(Post)
        .where(*which_posts)
        .values(comment_count=approved, updated_at=Post.updated_at)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- editing and deleting


def edit_comment(comment: Comment, user: User, body: str) -> Verdict:
    """Change a comment's text inside the edit window, re-checked by the same rules."""
    if not can_edit(comment, user):
        raise Refused("The time to edit this comment has passed.", 403)
    body = moderation.clean_text(body).strip()
    verdict = Verdict(CommentStatus.APPROVED)
    if not user.can_moderate(comment.post):
        verdict = moderation.review(body, user, user.email or "")
    was_approved = comment.status == CommentStatus.APPROVED
    comment.body_md = body
    comment.body_html = render_comment(body)
    comment.edited_at = utcnow()
    comment.status = verdict.status
    comment.held_reason = verdict.reason[:200]
    recount(comment.post)
    if verdict.status == CommentStatus.APPROVED and not was_approved:
        notifications.comment_approved(comment)
    db.session.commit()
    return verdict


def remove(comment: Comment) -> None:
    """Delete a comment: a row with replies stays as a text-less "[deleted]" placeholder."""
    has_replies = db.session.scalar(
        select(Comment.id).where(Comment.parent_id == comment.id).limit(1)
    )
    post = comment.post
    if has_replies is not None:
        comment.status = CommentStatus.DELETED
        comment.body_md = comment.body_html = ""
        comment.guest_email = comment.guest_website = ""
    else:
        db.session.delete(comment)
    db.session.flush()
    recount(post)


def delete_comment(comment: Comment, user: User) -> None:
    if not can_delete(comment, user):
        raise Refused("You can't delete this comment.", 403)
    if comment.user_id != user.id:  # a moderator's action, not the writer's own
        audit.record(user, audit.Action.COMMENT_DELETE, comment, label=_comment_label(comment))
    remove(comment)
    db.session.commit()


def _comment_label(comment: Comment) -> str:
    return f"comment {comment.id} on “{comment.post.title}”"[:300]


# ---------------------------------------------------------------- moderation


def moderate(comments: Iterable[Comment], action: str, actor: User | None = None) -> int:
    """Approve, mark as spam or delete comments (a moderation.Action); how many changed."""
    action = Action(action)  # ValueError for anything else
    newly_approved: list[Comment] = []
    posts: dict[int, Post] = {}
    changed = 0
    for comment in comments:
        posts[comment.post_id] = comment.post
        if action is Action.DELETE:
            remove(comment)
        else:
            status = action.status
            if comment.status == status:
                continue
            if status == CommentStatus.APPROVED and comment.status != CommentStatus.DELETED:
                newly_approved.append(comment)
            elif comment.status == CommentStatus.DELETED:
                continue  # nothing left to approve
            comment.status = status
            comment.held_reason = ""
        audit.record(actor, action.audit_name, comment, label=_comment_label(comment))
        changed += 1
    for post_id in sorted(posts):  # one lock order for every moderator: no deadlock
        recount(posts[post_id])
    for comment in newly_approved:
        notifications.comment_approved(comment)
    db.session.commit()
    return changed


def queue_query(user: User, status: str, post_id: int | None, commenter: str | None):
    """Comments for the moderation queue; authors see their own posts' comments only."""
    query = (
        select(Comment)
        .join(Comment.post)
        .where(Comment.status == status)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )
    if not user.is_editor:
        query = query.where(Post.author_id == user.id)
    if post_id:
        query = query.where(Comment.post_id == post_id)
    if commenter:
        kind, _, value = commenter.partition(":")
        if kind == "user":
            query = query.where(Comment.user_id == optional_int(value))
        else:
            query = query.where(Comment.user_id.is_(None), Comment.guest_email == value.lower())
    return query


def moderatable(user: User, ids: list[int]) -> list[Comment]:
    """The comments among ids this user may moderate (editors: all; authors: on own posts)."""
    if not ids:
        return []
    query = select(Comment).join(Comment.post).where(Comment.id.in_(ids))
    if not user.is_editor:
        query = query.where(Post.author_id == user.id)
    return list(db.session.scalars(query).unique())


def earlier_comments(comments: list[Comment]) -> dict[int, tuple[int, int]]:
    """For each comment: how many comments its writer left before it, and how many approved.

    One statement for the page. Members are matched by account, guests by email; each
    branch is an index lookup (ix_comments_user_id, ix_comments_guest_email) and CASE runs
    only the one that applies.
    """
    if not comments:
        return {}
    other = aliased(Comment, name="earlier")

    def count(*only) -> object:
        def branch(*same) -> object:
            return (
                select(func.count(other.id))
                .where(*same, other.created_at < Comment.created_at, other.id != Comment.id)
                .where(other.status != CommentStatus.DELETED, *only)
                .correlate(Comment)
                .scalar_subquery()
            )

        by_member = branch(other.user_id == Comment.user_id)
        by_guest = branch(other.user_id.is_(None), other.guest_email == Comment.guest_email)
        return case(
            (Comment.user_id.is_not(None), by_member),
            (Comment.guest_email != "", by_guest),
            else_=0,
        )

    rows = db.session.execute(
        select(Comment.id, count(), count(other.status == CommentStatus.APPROVED)).where(
            Comment.id.in_([c.id for c in comments])
        )
    )
    return {comment_id: (total, approved) for comment_id, total, approved in rows}


def pending_count(user: User) -> int:
    """Comments waiting for this moderator (authors: on their own posts; editors, admins: all)."""
    query = (
        select(func.count(Comment.id))
        .join(Comment.post)
        .where(Comment.status == CommentStatus.PENDING)
    )
    if not user.is_editor:
        query = query.where(Post.author_id == user.id)
    return db.session.scalar(query) or 0


def queue_counts(user: User) -> dict[str, int]:
    query = (
        select(Comment.status, func.count(Comment.id)).join(Comment.post).group_by(Comment.status)
    )
    if not user.is_editor:
        query = query.where(Post.author_id == user.id)
    return dict(db.session.execute(query).all())


# ---------------------------------------------------------------- following


# Built once: every signed-in reader's post page asks, and building cost more than asking.
_FOLLOWING = select(Subscription.id).where(
    Subscription.post_id == bindparam("post_id"), Subscription.user_id == bindparam("user_id")
)


def is_following(post_id: int, user_id: int) -> bool:
    return db.session.scalar(_FOLLOWING, {"post_id": post_id, "user_id": user_id}) is not None


def set_following(post: Post, user: User, follow: bool) -> None:
    if user.suspended:
        raise Refused("Your account is suspended.", 403)
    if follow and not is_following(post.id, user.id):
        db.session.add(Subscription(post_id=post.id, user_id=user.id))
    elif not follow:
        db.session.execute(
            delete(Subscription).where(
                Subscription.post_id == post.id, Subscription.user_id == user.id
            )
        )
    db.session.commit()


# ---------------------------------------------------------------- privacy


def purge_old(days: int = 30) -> int:
    """Remove held and spam comments older than `days`; returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    old = db.session.scalars(
        select(Comment).where(
            Comment.status.in_((CommentStatus.PENDING, CommentStatus.SPAM)),
            Comment.created_at < cutoff,
        )
    ).all()
    for comment in old:
        remove(comment)
        if comment.status == CommentStatus.DELETED:  # kept as a placeholder for its replies
            comment.ip = ""
    db.session.commit()
    return len(old)
