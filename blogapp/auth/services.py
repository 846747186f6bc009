"""Members: loading the signed-in user, credentials, confirmation, reset and account changes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update

from .. import audit
from ..extensions import db, login_manager
from ..inputs import optional_int
from ..markup import render_comment
from ..models import Comment, MediaImage, Post, Role, Subscription, User, utcnow
from ..tokens import created_stamp, is_same_row, make_token, read_token, row_named
from . import accounts, sessions

CONFIRM_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 3600

# Checked against when no account matches, so a miss costs as long as a wrong password.
_DUMMY_HASH = None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Session ids are "id:version:token"; the token names a live session record.

    A bumped version (password change, suspension) or an ended record (signed out, ended
    from the sessions page) signs the cookie out, on every app server.
    """
    user_id, version, token = (session_id.split(":", 2) + ["", ""])[:3]
    user_id, version = optional_int(user_id), optional_int(version)
    if user_id is None or version is None or not token:
        return None
    found = sessions.live(user_id, token)
    if found is None:
        return None
    record, user = found
    if user.session_version != version or user.suspended:
        return None
    user.session_token = token
    user.session_record = record
    sessions.touch(record)
    return user


def is_suspended_session(session_id: str) -> bool:
    """True when a session id ("id:version:token") belongs to an account now suspended."""
    user_id = str(session_id).partition(":")[0]
    if not user_id.isdigit():
        return False
    user = db.session.get(User, int(user_id))
    return user is not None and user.suspended


def find_by_login(login: str) -> User | None:
    key = login.strip().lower()
    return db.session.scalar(
        select(User).where(or_(User.email_key == key, User.username_key == key))
    )


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email_key == email.strip().lower()))


def authenticate(login: str, password: str) -> User | None:
    """The user when login and password match, else None, taking the same time either way."""
    global _DUMMY_HASH
    user = find_by_login(login)
    if user is None or not user.password_hash:
        if _DUMMY_HASH is None:
            dummy = User()
            dummy.set_password("not a real password, only for timing")
            _DUMMY_HASH = dummy
        _DUMMY_HASH.check_password(password)
        return None
    return user if user.check_password(password) else None


# --- registration and email confirmation -------------------------------------------------


def register(username: str, email: str, password: str) -> User:
    """A new, unconfirmed member, not yet committed: its confirmation mail joins the commit.

    AccountError when a rule or uniqueness is broken.
    """
    return accounts.create_user(
        username, email, password, role=Role.MEMBER, confirmed=False, commit=False
    )


def confirmation_token(user: User, new_email: str | None = None) -> str:
    """A link token confirming the user's address, or a change of it to new_email.

    It names the address it was made for: once the email changes, older links stop working.
    """
    return make_token(
        "confirm",
        {
            "id": user.id,
            "email": (new_email or user.email or "").lower(),
            "was": user.email_key,
            "t": created_stamp(user),
        },
    )


@dataclass
class Confirmation:
    user: User
    email: str  # the address being confirmed

    @property
    def is_change(self) -> bool:
        return self.email != self.user.email_key


def read_confirmation(token: str) -> Confirmation | None:
    data = read_token("confirm", token, CONFIRM_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    user = row_named(User, data["id"])
    if not is_same_row(user, data) or user.email_key != data.get("was"):
        return None
    if not isinstance(data.get("email"), str):
        return None
    return Confirmation(user, data["email"])


def confirm(confirmation: Confirmation) -> bool:
    """Mark the address confirmed (moving the account to it for a change); False if now taken."""
    user = confirmation.user
    if confirmation.is_change:
        if accounts.email_taken(confirmation.email):
            return False
        user.email = confirmation.email
        user.email_key = confirmation.email.lower()
    if user.confirmed_at is None or confirmation.is_change:
        user.confirmed_at = utcnow()
    db.session.commit()
    return True


# --- password reset ------------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    # Part of the current (salted) hash: after a reset the hash changes, so the link dies.
    return (user.password_hash or "none")[-16:]


def reset_token(user: User) -> str:
    return make_token("reset", {"id": user.id, "pw": _password_fingerprint(user)})


def read_reset(token: str) -> User | None:
    """The user a reset link is for, while it is under an hour old and not yet used."""
    data = read_token("reset", token, RESET_MAX_AGE)
    if not isinstance(data, dict):
        return None
    user = row_named(User, data.get("id"))
    if user is None or user.suspended:
        return None
    if not hmac.compare_digest(str(data.get("pw", "")), _password_fingerprint(user)):
        return None
    return user


def set_new_password(user: User, password: str) -> None:
    """Change the password and end every session of the user (remember-me cookies too)."""
    user.set_password(password)
    user.session_version += 1
    sessions.end_all(user, commit=False)
    db.session.commit()


def reset_password(user: User, password: str) -> None:
    # Following a link from the inbox proves the address, so confirm it too.
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    set_new_password(user, password)


# --- account pages -------------------------------------------------------------------------


def update_profile(
    user: User,
    display_name: str,
    bio: str,
    credentials: str | None = None,
    avatar: str | None | bool = False,
) -> str | None:
    """Save the public profile. avatar: a new stored name, None to remove, False to keep.

    Returns the avatar it replaced (its files are the caller's to delete), else None.
    """
    user.display_name = display_name or ""
    user.bio = bio or ""
    user.bio_html = render_comment(user.bio) if user.bio else ""
    if credentials is not None:
        user.credentials = " ".join(credentials.split())[:100]
    replaced = None
    if avatar is not False and avatar != user.avatar:
        replaced, user.avatar = user.avatar, avatar
    db.session.commit()
    return replaced


def export_data(user: User) -> dict:
    """Everything the blog holds about a member, for "download my data"."""
    rows = db.session.execute(
        select(Comment, Post.slug, Post.title)
        .join(Post, Comment.post_id == Post.id)
        .where(Comment.user_id == user.id)
        .order_by(Comment.created_at)
    ).all()
    posts = db.session.execute(
        select(Post.title, Post.slug, Post.status, Post.published_at)
        .where(Post.author_id == user.id)
        .order_by(Post.created_at)
    ).all()
    follows = db.session.scalars(
        select(Post.slug)
        .join(Subscription, Subscription.post_id == Post.id)
        .where(Subscription.user_id == user.id)
    ).all()
    return {
        "profile": {
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio,
            "credentials": user.credentials,
            "avatar": user.avatar,
            "role": str(user.role),
            "email_confirmed_at": _iso(user.confirmed_at),
            "created_at": _iso(user.created_at),
            "notify_replies": user.notify_replies,
        },
        "comments": [
            {
                "id": comment.id,
                "post": slug,
                "post_title": title,
                "parent_id": comment.parent_id,
                "status": comment.status,
                "body": comment.body_md,
                "created_at": _iso(comment.created_at),
                "edited_at": _iso(comment.edited_at),
            }
            for comment, slug, title in rows
        ],
        "posts": [
            {"title": t, "slug": s, "status": st, "published_at": _iso(p)} for t, s, st, p in posts
        ],
        "following": list(follows),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def active_admin_ids(lock: bool = False) -> set[int]:
    """Ids of the admins who aren't suspended; with lock, their rows are locked until commit.

    Locking is what keeps the last-admin rule under races: two admins demoting (or
    suspending) each other at the same moment on PostgreSQL each counted two admins and
    both went ahead, leaving none. With the rows locked, the second waits for the first to
    commit and then counts again. (SQLite runs one writing request at a time anyway:
    POST requests take the write lock at BEGIN.)
    """
    query = select(User.id).where(User.role == Role.ADMIN, User.suspended.is_(False))
    if lock:
        query = query.order_by(User.id).with_for_update()
    return set(db.session.scalars(query))


def is_last_admin(user: User, lock: bool = False) -> bool:
    admins = active_admin_ids(lock)
    return user.id in admins and len(admins) <= 1


NEEDS_AN_ADMIN = "The site needs at least one admin: make someone else an admin first."


def _admin_rule(user: User, actor: User | None, leaves: bool, refusal: str) -> None:
    """RoleError when the change would leave no admin, or the actor is no longer one."""
    admins = active_admin_ids(lock=True)
    if actor is not None and actor.id not in admins:
        raise RoleError("You are no longer an admin, so you can't change this.")
    if leaves and user.id in admins and len(admins) <= 1:
        raise RoleError(refusal)
    db.session.refresh(user)  # as it is now that no other change to admins can run


def deletion_problem(user: User, lock: bool = False) -> str | None:
    """Why this account can't be deleted now, or None (lock: about to delete it)."""
    if is_last_admin(user, lock):
        return "You are the only admin: make someone else an admin first."
    if db.session.scalar(select(Post.id).where(Post.author_id == user.id).limit(1)) is not None:
        return "You have written posts: ask an admin to move them to another author first."
    return None


def delete_account(user: User) -> list[str]:
    """Delete the user; their comments stay, shown as by a "former member".

    Returns the stored names of their avatar and images (the caller removes the files;
    the rows go with the user).
    """
    images = [user.avatar] if user.avatar else []
    images += db.session.scalars(select(MediaImage.name).where(MediaImage.owner_id == user.id))
    db.session.execute(
        update(Comment)
        .where(Comment.user_id == user.id)
        .values(user_id=None, guest_name="", guest_email="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(Subscription.__table__.delete().where(Subscription.user_id == user.id))
    db.session.delete(user)
    db.session.commit()
    return images


# --- admin: people and roles ---------------------------------------------------------------


def search_users(query: str = ""):
    """A select() of users matching a username, name or email fragment, newest first."""
    statement = select(User).order_by(User.created_at.desc(), User.id.desc())
    query = (query or "").strip().lower()
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                User.username_key.like(pattern, escape="\\"),
                User.email_key.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    return statement


class RoleError(ValueError):
    """A role or suspension change that would break a rule (e.g. no admin left)."""


def change_role(user: User, role: str, actor: User | None = None) -> None:
    role = Role(role)
    _admin_rule(user, actor, role != Role.ADMIN, NEEDS_AN_ADMIN)
    if user.role != role:
        audit.record(actor, audit.Action.ROLE_CHANGE, user, f"{user.role} -> {role}")
    user.role = role
    db.session.commit()


def set_reviewer(user: User, credentials: str, actor: User | None = None) -> None:
    """Make a member a clinical reviewer with these credentials; empty ones end it."""
    credentials = " ".join(credentials.split())[:200]
    if credentials != user.reviewer_credentials:
        audit.record(
            actor,
            audit.Action.REVIEWER_CHANGE,
            user,
            f"credentials: {credentials}" if credentials else "no longer a clinical reviewer",
        )
    user.reviewer_credentials = credentials
    db.session.commit()


def set_suspended(user: User, suspended: bool, actor: User | None = None) -> None:
    """Suspend (ending all of the user's sessions) or reinstate."""
    _admin_rule(user, actor, suspended, "The only admin can't be suspended.")
    if user.suspended == suspended:
        return
    user.suspended = suspended
    if suspended:
        user.session_version += 1
        sessions.end_all(user, commit=False)
    audit.record(actor, audit.Action.SUSPEND if suspended else audit.Action.REINSTATE, user)
    db.session.commit()
