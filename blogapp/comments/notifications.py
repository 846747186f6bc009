"""Emails about comments: to the post's author, to members replied to, and to followers.

Every one carries a one-click unsubscribe link and the RFC 8058 List-Unsubscribe headers.
Links that change something open a page with a button: only its POST acts. The mails are
queued in the outbox: the caller's commit (the comment itself) writes them.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ..email import queue_email
from ..extensions import db
from ..links import absolute_url_for
from ..models import Comment, CommentStatus, Subscription, User
from ..tokens import created_stamp, is_same_row, make_token, read_token, row_named
from .moderation import Action

log = logging.getLogger(__name__)
MODERATE_MAX_AGE = 14 * 24 * 3600
# What an unsubscribe link turns off.
KINDS = {
    "comments": "emails about new comments on your posts",
    "replies": "emails about replies to your comments",
    "follow": "emails about this discussion",
}


def moderation_token(comment: Comment, action: str, moderator: User) -> str:
    data = {"c": comment.id, "a": action, "u": moderator.id, "t": created_stamp(comment)}
    return make_token("moderate", data)


def read_moderation_token(token: str) -> dict | None:
    data = read_token("moderate", token, max_age=MODERATE_MAX_AGE)
    return data if isinstance(data, dict) and {"c", "a", "u"} <= data.keys() else None


def unsubscribe_token(user: User, kind: str, post_id: int | None = None) -> str:
    return make_token(
        "unsubscribe", {"u": user.id, "k": kind, "p": post_id, "t": created_stamp(user)}
    )


def moderation_target(data: dict) -> Comment | None:
    """The comment a moderation link names, if it is still that comment."""
    comment = row_named(Comment, data["c"])
    return comment if is_same_row(comment, data) else None


def unsubscribe_target(data: dict) -> User | None:
    """The member an unsubscribe link names, if still there (links from before stamps too:
    one-click unsubscribe in old emails must keep working)."""
    user = row_named(User, data.get("u"))
    return user if is_same_row(user, data, legacy_ok=True) else None


def read_unsubscribe_token(token: str) -> dict | None:
    data = read_token("unsubscribe", token, max_age=None)
    if not isinstance(data, dict) or data.get("k") not in KINDS:
        return None
    return data


def unsubscribe(user: User, data: dict) -> None:
    """Turn off what the token names for its member."""
    if data["k"] == "comments":
        user.notify_comments = False
    elif data["k"] == "replies":
        user.notify_replies = False
    else:
        db.session.execute(
            Subscription.__table__.delete().where(
                Subscription.user_id == user.id, Subscription.post_id == data.get("p")
            )
        )
    db.session.commit()


def _send(user: User, subject: str, text: str, kind: str, post_id: int | None = None) -> None:
    link = absolute_url_for("comments.unsubscribe", token=unsubscribe_token(user, kind, post_id))
    text += f"\n\nTo stop {KINDS[kind]}, open: {link}\n"
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    queue_email(user.email, subject, text, headers=headers)


def _can_mail(user: User | None) -> bool:
    return user is not None and bool(user.email) and not user.suspended


def _permalink(comment: Comment) -> str:
    return absolute_url_for("comments.permalink", comment_id=comment.id)


def comment_added(comment: Comment) -> None:
    """A new (not spam) comment: tell the post's author; if it is approved, the others too."""
    author = comment.post.author
    if _can_mail(author) and author.notify_comments and comment.user_id != author.id:
        state = (
            "is waiting for your approval"
            if comment.status == CommentStatus.PENDING
            else ("was published")
        )
        lines = [
            f"{comment.author_name} commented on “{comment.post.title}”. The comment {state}.",
            "",
            comment.body_md,
            "",
            f"See it: {_permalink(comment)}" if comment.status == CommentStatus.APPROVED else "",
        ]
        if comment.held_reason:
            lines.append(f"Held because: {comment.held_reason}")
        for action in Action:
            if action is Action.APPROVE and comment.status == CommentStatus.APPROVED:
                continue
            url = absolute_url_for(
                "comments.moderate_link", token=moderation_token(comment, action, author)
            )
            lines.append(f"{action.label}: {url}")
        lines.append(f"Moderation queue: {absolute_url_for('admin.comments')}")
        _send(author, f"New comment on “{comment.post.title}”", "\n".join(lines), "comments")
    if comment.status == CommentStatus.APPROVED:
        comment_approved(comment)


def comment_approved(comment: Comment) -> None:
    """A comment became visible: the member replied to (if opted in) and the followers."""
    mailed = {comment.user_id, None}
    parent = comment.parent
    if parent is not None and parent.user is not None and parent.user_id not in mailed:
        replied_to = parent.user
        if _can_mail(replied_to) and replied_to.notify_replies:
            text = (
                f"{comment.author_name} replied to your comment on “{comment.post.title}”:\n\n"
                f"{comment.body_md}\n\nRead it: {_permalink(comment)}"
            )
            _send(replied_to, f"A reply to your comment on “{comment.post.title}”", text, "replies")
            mailed.add(replied_to.id)
    followers = db.session.scalars(
        select(User)
        .join(Subscription, Subscription.user_id == User.id)
        .where(Subscription.post_id == comment.post_id)
    ).all()
    for follower in followers:
        if follower.id in mailed or not _can_mail(follower):
            continue
        text = (
            f"{comment.author_name} commented on “{comment.post.title}”, a discussion you "
            f"follow:\n\n{comment.body_md}\n\nRead it: {_permalink(comment)}"
        )
        _send(follower, f"New comment on “{comment.post.title}”", text, "follow", comment.post_id)
        mailed.add(follower.id)
