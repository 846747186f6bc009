"""Moderation rules: who is trusted, what gets held, what is spam; the admin word list; the
moderators' actions (approve, spam, delete) and their words."""

from __future__ import annotations

import enum
import ipaddress
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from .. import audit, site_settings
from ..cache import leave_out_of_etag
from ..extensions import db
from ..markup import count_links
from ..models import Comment, CommentStatus, Post, Setting, User, utcnow
from ..tokens import make_token, read_token

WORDS_KEY = "moderation_words"


class Action(enum.StrEnum):
    """A moderator's decision on a comment, with the words every page, flash and email use.

    Each: the status it gives (None: the comment is removed), its button and email link,
    the email link's page title, the queue's bulk and row buttons, what is said once it is
    done, and the button's style.
    """

    APPROVE = (
        "approve", CommentStatus.APPROVED, "Approve", "Approve comment", "Approve selected",
        "Approve", "approved", "",
    )  # fmt: skip
    SPAM = (
        "spam", CommentStatus.SPAM, "Mark as spam", "Mark comment as spam",
        "Mark selected as spam", "Spam", "marked as spam", "secondary",
    )  # fmt: skip
    DELETE = (
        "delete", None, "Delete", "Delete comment", "Delete selected", "Delete", "deleted",
        "danger",
    )  # fmt: skip

    def __new__(cls, value, status, label, title, bulk_label, row_label, done, style):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status, member.label, member.title, member.done = status, label, title, done
        member.bulk_label, member.row_label, member.style = bulk_label, row_label, style
        return member

    @property
    def audit_name(self) -> str:
        """Its name in the audit log."""
        return f"comment_{self.value}"

    @classmethod
    def find(cls, value) -> Action | None:
        """The action a form or link names, or None for anything else."""
        return cls._value2member_map_.get(value) if isinstance(value, str) else None


# Bidi embeddings/overrides/isolates: they could make a comment display as something else.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Zero-width characters, removed before pattern checks so they can't hide a phone number.
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Contact and identity details a commenter shouldn't publish on a healthcare blog.
# Checked in this order (an SSN would also look like part of a phone number).
PRIVATE_PATTERNS = [
    ("an email address", re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")),
    ("a Social Security number", re.compile(r"(?<!\d)\d{3}[- .]\d{2}[- .]\d{4}(?!\d)")),
    (
        "a medical record number",
        re.compile(
            r"\b(mrn|medical[\s-]+record(\s+(number|no\.?|num|#))?)\s*[:#-]?\s*[a-z0-9-]*\d{3,}",
            re.IGNORECASE,
        ),
    ),
    (
        "a phone number",
        re.compile(
            r"(?<!\d)(\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)|\+\d[\d\s().-]{8,}\d"
        ),
    ),
]


@dataclass
class Verdict:
    status: str
    reason: str = ""  # shown to the commenter when held
    silent: bool = False  # spam: the commenter is not told


class Refused(Exception):
    """A comment that is not accepted; the message says why, status is the HTTP status."""

    def __init__(self, message: str, status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


def clean_text(text: str) -> str:
    """Text as stored: NFC, no bidi controls or stray control characters, \\n line ends."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _BIDI_CONTROLS.sub("", text))


def clean_name(text: str) -> str:
    """A display name: one line, no zero-width or bidi tricks."""
    return " ".join(_ZERO_WIDTH.sub("", clean_text(text)).split())


def truncate_ip(address: str | None) -> str:
    """IPv4 to its /24, IPv6 to its /48: enough for flood limits, not enough to identify."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def private_detail(text: str) -> str | None:
    """What kind of contact or identity detail the text seems to carry, or None."""
    flat = unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", text))
    for label, pattern in PRIVATE_PATTERNS:
        if pattern.search(flat):
            return label
    return None


# Form timing: a signed timestamp, so a bot posting instantly is spotted.


def form_stamp() -> str:
    # An older stamp is as good as a new one (it only shows the form wasn't sent back too
    # soon), so a page differing only in its stamp keeps its ETag.
    return leave_out_of_etag(make_token("comment-form", int(time.time())))


def too_fast(stamp: str | None) -> bool:
    """True when the form came back sooner than a person could type, or with no valid stamp."""
    minimum = current_app.config.get("COMMENT_MIN_SECONDS", 3)
    if not minimum:
        return False
    issued = read_token("comment-form", stamp or "", max_age=None)
    if not isinstance(issued, int):
        return True
    return time.time() - issued < minimum


# The admin's word list.


def word_list() -> list[str]:
    setting = db.session.get(Setting, WORDS_KEY)
    if setting is None:
        return []
    return [w for w in (line.strip().lower() for line in setting.value.splitlines()) if w]


def save_word_list(text: str, actor=None) -> list[str]:
    words = sorted({" ".join(w.split()).lower() for w in text.splitlines() if w.strip()})
    setting = db.session.get(Setting, WORDS_KEY) or Setting(key=WORDS_KEY)
    setting.value = "\n".join(w[:100] for w in words[:1000])
    db.session.add(setting)
    audit.record(actor, audit.Action.SETTINGS_CHANGE, setting, f"{len(words)} moderation words")
    db.session.commit()
    return words


def listed_word(text: str, words: list[str]) -> str | None:
    flat = unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", text)).lower()
    for word in words:
        if re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", flat):
            return word
    return None


# Trust.


def email_trusted(email: str) -> bool:
    """A commenter whose address already has an approved comment."""
    if not email:
        return False
    query = select(Comment.id).where(
        Comment.guest_email == email.lower(), Comment.status == CommentStatus.APPROVED
    )
    return db.session.scalar(query.limit(1)) is not None


def closed_reason(post: Post) -> str | None:
    if not post.comments_open:
        return "Comments are closed on this post."
    days = site_settings.current().comments_close_after_days
    if days and post.published_at and (utcnow() - post.published_at).days >= days:
        return f"Comments close {days} days after a post is published; this one is closed."
    return None


def check_flood(ip: str) -> None:
    """Refuse with 429 when one address posted too many comments in the last minute."""
    if not ip or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limit = current_app.config.get("COMMENT_FLOOD_LIMIT", 5)
    window = current_app.config.get("COMMENT_FLOOD_SECONDS", 60)
    since = utcnow() - timedelta(seconds=window)
    recent = db.session.scalars(
        select(Comment.id).where(Comment.ip == ip, Comment.created_at >= since).limit(limit)
    ).all()
    if len(recent) >= limit:
        raise Refused(
            "You are commenting too quickly. Wait a minute, then post again — your text is kept.",
            429,
            {"Retry-After": str(window)},
        )


def check_duplicate(post: Post, body: str, user: User | None, email: str) -> None:
    query = select(Comment.id).where(Comment.post_id == post.id, Comment.body_md == body)
    if user is not None:
        query = query.where(Comment.user_id == user.id)
    else:
        query = query.where(Comment.user_id.is_(None), Comment.guest_email == email.lower())
    if db.session.scalar(query.limit(1)) is not None:
        raise Refused("You've already posted this comment here.")


def suspended_address(email: str) -> bool:
    """True when a suspended account has this address."""
    query = select(User.id).where(User.email_key == (email or "").strip().lower(), User.suspended)
    return bool(email) and db.session.scalar(query.limit(1)) is not None


def assess(
    post: Post, body: str, user: User | None, email: str, honeypot: str = "", stamp: str | None = ""
) -> Verdict:
    """Where a new comment goes: approved, held for review (with the reason), or spam."""
    # The traps are for strangers: a signed-in confirmed member is never binned in silence
    # (they would believe they had posted); rate limits cover them instead.
    trusted = user is not None and user.is_confirmed and not user.suspended
    if not trusted and (honeypot.strip() or too_fast(stamp)):
        return Verdict(CommentStatus.SPAM, silent=True)
    if user is not None and user.can_moderate(post):
        return Verdict(CommentStatus.APPROVED)
    return review(body, user, email)


def review(body: str, user: User | None, email: str) -> Verdict:
    """The content and trust rules (also re-run on an edit)."""
    if detail := private_detail(body):
        return Verdict(
            CommentStatus.PENDING,
            f"Your comment seems to contain {detail}. To protect your privacy, a moderator "
            "will review it before it appears. Please don't share contact details or personal "
            "health information in public comments.",
        )
    max_links = site_settings.current().comment_max_links
    if count_links(body) > max_links:
        return Verdict(
            CommentStatus.PENDING,
            f"Comments with more than {max_links} link{'s' if max_links != 1 else ''} are "
            "reviewed by a moderator first.",
        )
    if listed_word(body, word_list()):
        return Verdict(
            CommentStatus.PENDING,
            "Your comment contains a word our moderators review; it will appear once approved.",
        )
    if user is not None and user.is_confirmed:
        return Verdict(CommentStatus.APPROVED)
    if email_trusted(email):
        return Verdict(CommentStatus.APPROVED)
    reason = "A first comment is reviewed by a moderator before it appears."
    if user is not None:
        reason = "Comments from members who haven't confirmed their email are reviewed first."
    return Verdict(CommentStatus.PENDING, reason)
