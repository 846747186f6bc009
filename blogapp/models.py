"""All models in one module: columns, relationships and small invariants."""

from __future__ import annotations

import enum
import unicodedata
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .inputs import single_line


def utcnow() -> datetime:
    return datetime.now(UTC)


@event.listens_for(Table, "after_parent_attach")
def _ids_never_reused(table: Table, metadata) -> None:
    """Every table's integer id is never given twice, on SQLite too (AUTOINCREMENT).

    Without it SQLite hands a deleted row's id to the next row, and an emailed link for
    the deleted comment would act on someone else's. PostgreSQL sequences never go back.
    Tables added later get it too; their migration must say so (see 0008_field_holes).
    """
    if metadata is db.metadata:  # not tables Alembic reflects while migrating
        table.dialect_options["sqlite"]["autoincrement"] = True


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite stores text; keep it zone-free so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Stored as plain strings (not native enums) so migrations are the same on both databases.
class Role(enum.StrEnum):
    MEMBER = "member"
    AUTHOR = "author"
    EDITOR = "editor"  # an author on anyone's posts and comments; below admin
    ADMIN = "admin"


# The badge a staff member's comments carry, by role (issue 17). Keyed by the role's value so
# roles added later (an "editor") get theirs by adding a line here; members carry none.
ROLE_BADGES = {"author": "Author", "editor": "Editor", "admin": "Moderator"}


def role_badge(role: str | None) -> str:
    return ROLE_BADGES.get(role or "", "")


class PostKind(enum.StrEnum):
    POST = "post"
    PAGE = "page"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class ReviewStatus(enum.StrEnum):
    """Where a post's newest version stands in clinical review ("" when none is needed)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    FIX = "fix"  # published by an editor as a non-clinical fix, without a new review

    @property
    def label(self) -> str:
        return {
            "draft": "Not yet submitted for review",
            "in_review": "In review",
            "changes_requested": "Changes requested",
            "approved": "Approved",
            "fix": "Published as a non-clinical fix",
        }[self.value]


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    DELETED = "deleted"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # Lower-cased copies make case-insensitive uniqueness work the same on both databases.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change, reset or suspension: every other session then ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    notify_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    # Authors: an email on each new comment on their posts (unsubscribe link turns it off).
    notify_comments: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # -- the public profile (issue 17): self-declared, e.g. "RN, BSN"; an uploaded avatar's
    # stored name (uploads.py), initials are shown without one.
    credentials: Mapped[str] = mapped_column(String(100), default="", server_default="")
    avatar: Mapped[str | None] = mapped_column(String(100))
    # Clinical reviewer designation, set by an admin: non-empty credentials ("RN, MSN") make
    # the member a reviewer. Not the self-declared profile credentials.
    reviewer_credentials: Mapped[str] = mapped_column(String(200), default="", server_default="")

    posts: Mapped[list[Post]] = relationship(back_populates="author")

    def get_id(self) -> str:
        # Flask-Login stores this in the session and remember cookie; a new version voids both,
        # and so does ending the session record the token names (auth/sessions.py).
        token = getattr(self, "session_token", None)
        return f"{self.id}:{self.session_version}:{token}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_author(self) -> bool:
        return self.role in (Role.AUTHOR, Role.EDITOR, Role.ADMIN)

    @property
    def is_editor(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def initials(self) -> str:
        """Up to two letters from the shown name, for the avatar stand-in."""
        spaced = self.name.replace("_", " ").replace("-", " ")
        words = [w for w in spaced.split() if w[:1].isalnum()]
        return "".join(w[0] for w in words[:2]).upper() or self.username[:1].upper()

    @property
    def is_reviewer(self) -> bool:
        return not self.suspended and bool(self.reviewer_credentials.strip())

    def set_password(self, password: str) -> None:
        # NFKC: the same password typed on another keyboard or OS still matches.
        self.password_hash = generate_password_hash(unicodedata.normalize("NFKC", password))

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(
            self.password_hash, unicodedata.normalize("NFKC", password)
        )

    def can_edit_post(self, post: Post) -> bool:
        return not self.suspended and (
            self.is_editor or (self.is_author and post.author_id == self.id)
        )

    def can_moderate(self, post: Post) -> bool:
        return self.can_edit_post(post)


# --- account security: session records, two-factor, passkeys ---------------------------


class UserSession(db.Model):
    """One sign-in: the signed cookie names it, so ending it here signs that browser out."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the random token in the cookie: a leaked table can't be replayed as cookies.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")  # truncated: /24 or /48
    method: Mapped[str] = mapped_column(String(16), default="password")  # or passkey


class TotpSecret(db.Model):
    """An authenticator app: enabled once the member typed a code it showed."""

    __tablename__ = "totp_secrets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step accepted: the same code can't be used twice.
    last_step: Mapped[int] = mapped_column(Integer, default=0)


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(db.Model):
    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[str] = mapped_column(Text)  # base64url COSE key
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")  # what the admin typed
    description_html: Mapped[str] = mapped_column(Text, default="")  # markup.render_description
    # Posts here go out only once a clinical reviewer approved the exact version.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    review_months: Mapped[int] = mapped_column(Integer, default=12, server_default="12")


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(100), unique=True)


def link_table(name: str, **ids: str) -> Table:
    """A many-to-many table of two ids (post_id="posts.id", ...), deleted with either row.

    The pair is the key, so it is found from the first side; the index finds it from the
    second (a tag's posts, a category's subscribers) without reading the table.
    """
    (first, first_target), (second, second_target) = ids.items()
    return Table(
        name,
        db.metadata,
        Column(first, ForeignKey(first_target, ondelete="CASCADE"), primary_key=True),
        Column(second, ForeignKey(second_target, ondelete="CASCADE"), primary_key=True),
        Index(f"ix_{name}_{second}", second, first),
    )


post_tags = link_table("post_tags", post_id="posts.id", tag_id="tags.id")


class Post(db.Model):
    """A blog post or a standalone page (kind), stored with its rendered, sanitized HTML."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=PostKind.POST)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    body_md: Mapped[str] = mapped_column(Text, default="")
    # "markdown" for posts written here; "html" for imported WordPress posts.
    body_format: Mapped[str] = mapped_column(String(16), default="markdown")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Visible text of body_html, set with it: what search indexes (by DB triggers) and quotes.
    body_text: Mapped[str] = mapped_column(Text, default="")
    # Table of contents as JSON [{"level": 2, "id": "...", "text": "..."}], made when saved.
    toc_json: Mapped[str] = mapped_column(Text, default="[]")
    excerpt: Mapped[str] = mapped_column(Text, default="")  # the author's, if any
    summary: Mapped[str] = mapped_column(Text, default="")  # shown in lists: excerpt or derived
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    cover_image: Mapped[str | None] = mapped_column(String(100))
    cover_alt: Mapped[str] = mapped_column(String(300), default="")
    # Clinical review (blogapp/posts/review.py). The post's own columns always hold the live
    # text; a newer revision waits in post_revisions until approved. Plain integers, not
    # foreign keys: posts <-> post_revisions would be a cycle, and SQLite can only add a
    # foreign key by rebuilding the table (which would drop the search triggers).
    review_status: Mapped[str] = mapped_column(String(20), default="", server_default="")
    live_revision_id: Mapped[int | None] = mapped_column(Integer)
    live_review_id: Mapped[int | None] = mapped_column(Integer)  # the approval readers see
    next_review_on: Mapped[date | None] = mapped_column(Date)
    content_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The free-text "Reviewed by" line from before reviews were recorded, kept as history.
    review_history_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    comments_open: Mapped[bool] = mapped_column(Boolean, default=True)
    sticky: Mapped[bool] = mapped_column(Boolean, default=False)
    # Kept by the comment services so lists show counts without a query per post.
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    wp_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    wp_guid: Mapped[str | None] = mapped_column(String(500))
    # The WordPress post_name, for old permalinks (/YYYY/MM/DD/<wp_slug>/) when ours differs.
    wp_slug: Mapped[str | None] = mapped_column(String(200), index=True)

    author: Mapped[User] = relationship(back_populates="posts", lazy="joined", innerjoin=True)
    category: Mapped[Category | None] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, lazy="selectin", order_by=Tag.name)

    __table_args__ = (
        # In list order (newest first) with status last: a page of 10 reads 10 index entries
        # (no sort of every post), and counting never touches the wide rows (migration 0007).
        Index("ix_posts_listing", "kind", "published_at", "id", "status"),
        Index("ix_posts_author_listing", "author_id", "kind", "published_at", "id", "status"),
        Index("ix_posts_category_listing", "category_id", "kind", "published_at", "id", "status"),
    )

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.word_count / 230))

    def is_visible(self, now: datetime | None = None) -> bool:
        """Published, or scheduled and its time has come: no background job needed."""
        now = now or utcnow()
        return (
            self.status in (PostStatus.PUBLISHED, PostStatus.SCHEDULED)
            and self.published_at is not None
            and self.published_at <= now
        )


class SlugRedirect(db.Model):
    """An old slug of a published post, answered with a 301 to the current one."""

    __tablename__ = "slug_redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_slug: Mapped[str] = mapped_column(String(200), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post] = relationship()


# WordPress move-in: the old site's media and addresses ----------------------------------


class WordPressMedia(db.Model):
    """An image from the old site's media library, stored through the upload pipeline."""

    __tablename__ = "wordpress_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    wp_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Its path under wp-content/uploads, lower-cased ("2023/04/team.jpg"): old URLs and
    # their size variants ("team-300x200.jpg") are found by it.
    file: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(100))  # the stored upload's name
    alt: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OldAddress(db.Model):
    """An address the old WordPress site answered, and what answers it now.

    The target is a row, not a URL: it is looked up when the address is asked for, so a
    post made a draft or deleted stops being redirected to, and nothing points off-site.
    """

    __tablename__ = "old_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised (decoded, lower-case, no trailing slash); "/?p=12" for WordPress's id links.
    path: Mapped[str] = mapped_column(String(500), unique=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    tag_id: Mapped[int | None] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[int | None] = mapped_column(
        ForeignKey("wordpress_media.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    # The thread's top-level comment (itself for top-level ones): pages of threads in one query.
    root_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    guest_name: Mapped[str] = mapped_column(String(80), default="")
    guest_email: Mapped[str] = mapped_column(String(254), default="")
    guest_website: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PENDING)
    held_reason: Mapped[str] = mapped_column(String(200), default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")  # truncated: /24 or /48
    wp_id: Mapped[int | None] = mapped_column(Integer)

    post: Mapped[Post] = relationship()
    user: Mapped[User | None] = relationship(lazy="joined")
    parent: Mapped[Comment | None] = relationship(remote_side=[id])

    __table_args__ = (
        Index("ix_comments_thread", "post_id", "status", "created_at"),
        Index("ix_comments_root", "post_id", "root_id"),
        Index("ix_comments_parent_id", "parent_id"),
        Index("ix_comments_user_id", "user_id", "created_at"),
        Index("ix_comments_guest_email", "guest_email", "status"),
        Index("ix_comments_status_created", "status", "created_at"),
        Index("ix_comments_ip_created", "ip", "created_at"),
        Index("ix_comments_wp_id", "post_id", "wp_id"),
    )

    @property
    def author_name(self) -> str:
        if self.user is not None:
            return self.user.name
        return self.guest_name or ("former member" if self.user_id is None else "")


class Subscription(db.Model):
    """A member following a post's discussion: emailed on every new approved comment."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("uq_subscriptions_user_post", "user_id", "post_id", unique=True),)


# -- clinical review, revisions and the audit log (issue 18) --------------------------------


class PostRevision(db.Model):
    """One save of a post's text: every save keeps one; restoring an old one adds a new one."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    change_note: Mapped[str] = mapped_column(String(500), default="")
    note_public: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="edit")  # edit, restore, fix
    restored_from: Mapped[int | None] = mapped_column(Integer)  # the number restored

    post: Mapped[Post] = relationship()
    editor: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("uq_post_revisions_number", "post_id", "number", unique=True),)


class ReviewDecision(db.Model):
    """A reviewer's approval or request for changes, against one exact revision."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("post_revisions.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Copied when decided: the line stays true if the reviewer's name or credentials change.
    reviewer_name: Mapped[str] = mapped_column(String(300), default="")
    credentials: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[str] = mapped_column(String(20))  # approved, changes_requested
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User | None] = relationship(lazy="joined")
    revision: Mapped[PostRevision] = relationship()


class AuditEntry(db.Model):
    """One staff action, appended by blogapp/audit.py; never changed or removed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No foreign keys: an entry outlives the person and the thing it names.
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_label: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class MediaImage(db.Model):
    """An image an author uploaded for use inside posts (the media page, issue 17).

    Its files are uploads.py's (the stored name and its variants); where it is used is found
    by looking for the name in posts' sources, so nothing has to be kept in step.
    """

    __tablename__ = "media_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    alt: Mapped[str] = mapped_column(String(300), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship()

    __table_args__ = (Index("ix_media_images_owner", "owner_id", "created_at"),)


class Setting(db.Model):
    """Site settings an admin edits (e.g. the moderation word list), as key and text value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


# --- mail: the outbox and the newsletter --------------------------------------------------


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker (first try, or a retry after next_attempt_at)
    SENDING = "sending"  # claimed by a worker until claimed_until (then claimable again)
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; an admin may retry it
    CANCELLED = "cancelled"  # a newsletter whose subscriber left before it went out


class OutboxMessage(db.Model):
    """One email to deliver, written in the same commit as the change that caused it.

    Newsletter rows carry no body: it is built when sent, from the newsletter and the
    subscriber (each gets their own unsubscribe link), so 10,000 of them stay small.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300), default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str | None] = mapped_column(Text)
    headers_json: Mapped[str] = mapped_column(Text, default="{}")
    newsletter_id: Mapped[int | None] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE")
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # One newsletter reaches one subscriber once, however many workers expand it.
        Index("uq_outbox_newsletter_subscriber", "newsletter_id", "subscriber_id", unique=True),
        # Ids are in admin links (retry): never given twice, on SQLite too.
        {"sqlite_autoincrement": True},
    )


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the address to be confirmed
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class Frequency(enum.StrEnum):
    EVERY_POST = "post"
    WEEKLY = "weekly"


subscriber_categories = link_table(
    "subscriber_categories", subscriber_id="subscribers.id", category_id="categories.id"
)


class Subscriber(db.Model):
    """An address that wants new posts by email (every post or weekly; all or some categories)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.PENDING)
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.EVERY_POST)
    all_categories: Mapped[bool] = mapped_column(Boolean, default=True)
    # In every link for this subscriber: a new key (after unsubscribing) voids the old links.
    link_key: Mapped[str] = mapped_column(String(32))
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    categories: Mapped[list[Category]] = relationship(
        secondary=subscriber_categories, lazy="selectin", order_by=Category.name
    )

    __table_args__ = (
        Index("ix_subscribers_status_frequency", "status", "frequency"),
        {"sqlite_autoincrement": True},
    )


class NewsletterKind(enum.StrEnum):
    POST = "post"  # one new post, to every-post subscribers
    DIGEST = "digest"  # a week's posts, to weekly subscribers
    TEST = "test"  # an admin's "send me a test"


class Newsletter(db.Model):
    """One newsletter issue; its recipients' outbox rows are made when send_after comes."""

    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=NewsletterKind.POST)
    # Unique: a post is announced once; a week's digest is made once ("2026-W49").
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), unique=True
    )
    period: Mapped[str | None] = mapped_column(String(16), unique=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expanded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post | None] = relationship()

    __table_args__ = (
        Index("ix_newsletters_due", "expanded_at", "send_after"),
        {"sqlite_autoincrement": True},
    )


# -- one-line text (issue 15) ------------------------------------------------------------
# Titles and names end up in email subjects and headers: a CR or LF there broke every
# comment notice for a post. Whoever sets them (forms, importers, the CLI) gets them as one
# line; import-json's rows get the same treatment in backup.py.
ONE_LINE_FIELDS = (Post.title, Comment.guest_name, User.display_name, Category.name, Tag.name)


def _as_one_line(target, value, oldvalue, initiator):
    return single_line(value) if isinstance(value, str) else value


for _field in ONE_LINE_FIELDS:
    event.listen(_field, "set", _as_one_line, retval=True)
