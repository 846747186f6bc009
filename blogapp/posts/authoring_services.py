"""Writing posts: save, preview, publish, schedule, unpublish, delete; slug rules; dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit
from ..extensions import db
from ..markup import slugify
from ..models import (
    Category,
    Comment,
    CommentStatus,
    Post,
    PostKind,
    PostStatus,
    ReviewStatus,
    SlugRedirect,
    Tag,
    User,
    utcnow,
)
from ..newsletter import issues as newsletter
from . import review, revisions
from .review import ReviewRequired  # noqa: F401 - the views catch it from here
from .services import render_content, tags_from_names, unique_slug

# /posts/new and /posts/preview are routes: no post may take those addresses.
RESERVED_SLUGS = {"new", "preview"}


@dataclass
class Draft:
    """What an author typed, as plain values (no request, no form)."""

    title: str
    body: str
    kind: str = PostKind.POST
    slug: str = ""
    excerpt: str = ""
    category_id: int | None = None
    tag_names: list[str] = field(default_factory=list)
    cover_image: str | None = None
    cover_alt: str = ""
    change_note: str = ""
    note_public: bool = False  # shown to readers under "What changed"
    fix: bool = False  # an editor's non-clinical fix: published without a new review

    @property
    def text(self) -> revisions.Text:
        return revisions.Text(self.title, self.body, self.excerpt)


class SlugTaken(ValueError):
    """The slug an author asked for belongs to another post."""


def to_utc(local: datetime, timezone: str) -> datetime:
    """A naive date and time typed in the site's time zone, as aware UTC."""
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_local(value: datetime | None, timezone: str) -> datetime | None:
    """An aware UTC datetime as the naive local time a datetime-local field shows."""
    return value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None) if value else None


def slug_is_locked(post: Post) -> bool:
    """Once readers could see the post, its address is kept (a new slug leaves a redirect)."""
    return post.published_at is not None and post.published_at <= utcnow() and post.id is not None


def get_post(slug: str) -> Post | None:
    return db.session.scalar(select(Post).where(Post.slug == slug))


def get_post_by_id(post_id: int) -> Post | None:
    return db.session.get(Post, post_id)


def get_post_with_cover(name: str) -> Post | None:
    return db.session.scalar(select(Post).where(Post.cover_image == name).limit(1))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def save(
    post: Post | None, draft: Draft, author: User, action: str, when: datetime | None = None
) -> Post:
    """Create or update a post from a draft; save it as a draft, submit, schedule or publish.

    Every change of text is kept as a revision. Raises SlugTaken when the slug asked for
    belongs to another post, ReviewRequired when publishing needs an approval first;
    nothing is saved then.
    """
    if post is None:
        post = Post(author=author, status=PostStatus.DRAFT)
        db.session.add(post)
    # Nothing is flushed half-made while slugs and tags are looked up.
    with db.session.no_autoflush:
        _apply(post, draft)
        post.category = _category(draft.category_id)
        post.tags = tags_from_names(draft.tag_names)
        waits = review.guards_live_text(post)  # the approved text stays live meanwhile
        if not waits:
            _apply_text(post, draft)
        _set_slug(post, draft.slug)
    revision, changed = revisions.keep(
        post, draft.text, author, draft.change_note, draft.note_public
    )
    if changed and review.needs_review(post):
        post.review_status = ReviewStatus.DRAFT  # new words need a new approval
    elif not review.needs_review(post):
        post.review_status = ""
    if not waits:
        post.live_revision_id = revision.id
        if changed and slug_is_locked(post):  # readers had seen the text before this change
            post.content_updated_at = utcnow()
    if action in ("publish", "schedule"):
        try:
            as_fix = review.check_publish(
                post, revision, author, draft.change_note if draft.fix else None
            )
        except ReviewRequired:
            db.session.rollback()
            raise
        review.go_live(post, revision, as_fix)
        was_live = post.is_visible()
        _set_published(post, action, when)
        kind = audit.Action.PUBLISH_FIX if as_fix else audit.Action(action)
        if kind != audit.Action.PUBLISH or changed or not was_live:
            audit.record(author, kind, post, _revision_detail(revision, draft))
    elif action == "submit":
        if not waits:
            _set_published(post, "draft", None)  # unapproved words never go out on a timer
        review.submit(post, author)
    elif not waits:
        _set_published(post, "draft", None)
    db.session.add(post)
    newsletter.announce(post)  # its newsletter is saved with it, sent when it is visible
    db.session.commit()
    return post


def _set_published(post: Post, action: str, when: datetime | None) -> None:
    if action == "publish":
        if (
            post.status != PostStatus.PUBLISHED
            or post.published_at is None
            or post.published_at > utcnow()
        ):
            post.published_at = utcnow()
        post.status = PostStatus.PUBLISHED
    elif action == "schedule":
        post.status, post.published_at = PostStatus.SCHEDULED, when
    else:
        if not slug_is_locked(post):
            post.published_at = None  # a draft that never went out has no date
        post.status = PostStatus.DRAFT


def _revision_detail(revision, draft: Draft) -> str:
    note = f": {draft.change_note.strip()}" if draft.change_note.strip() else ""
    return f"revision {revision.number}{note}"


def restore(post: Post, number: int, editor: User) -> int | None:
    """A new revision with an old one's text (live at once unless it must wait for review).

    Returns the new revision's number, or None when there is no such revision.
    """
    old = revisions.get(post, number)
    if old is None:
        return None
    revision, _ = revisions.keep(
        post,
        revisions.Text.of(old),
        editor,
        f"Restored revision {number}",
        kind="restore",
        restored_from=number,
    )
    if review.needs_review(post):
        post.review_status = ReviewStatus.DRAFT
    if not review.guards_live_text(post):
        review.apply_text(post, revision)
    audit.record(editor, audit.Action.RESTORE, post, f"revision {number} as {revision.number}")
    db.session.commit()
    return revision.number


def preview(post: Post | None, draft: Draft, author: User) -> Post:
    """A post built from the draft as readers would see it, never added to the session."""
    names = {slugify(n): " ".join(n.split()) for n in draft.tag_names if slugify(n)}
    existing = {t.slug: t for t in db.session.scalars(select(Tag).where(Tag.slug.in_(names)))}
    tags = [existing.get(slug) or Tag(name=name, slug=slug) for slug, name in names.items()]
    shown = Post(
        status=PostStatus.DRAFT,
        published_at=(post.published_at if post and post.published_at else utcnow()),
        comment_count=post.comment_count if post else 0,
    )
    _apply(shown, draft)
    _apply_text(shown, draft)
    # Set without attribute events: nothing cascades the preview into the session.
    set_committed_value(shown, "author", post.author if post else author)
    set_committed_value(shown, "category", _category(draft.category_id))
    set_committed_value(shown, "tags", sorted(tags, key=lambda t: t.name))
    shown.slug = slugify(draft.slug) or (post.slug if post else slugify(draft.title)) or "preview"
    return shown


def unpublish(post: Post, actor: User) -> None:
    """Back to a draft; the date stays so republishing keeps it and the slug stays stable."""
    post.status = PostStatus.DRAFT
    audit.record(actor, audit.Action.UNPUBLISH, post)
    db.session.commit()


def delete(post: Post, actor: User) -> str | None:
    """Delete the post (its comments and redirects go with it); returns its cover's name."""
    cover = post.cover_image
    audit.record(actor, audit.Action.DELETE, post, f"/posts/{post.slug}")
    db.session.delete(post)
    db.session.commit()
    return cover


def dashboard_query(user: User):
    """The user's posts and pages (everyone's for an editor), most recently changed first."""
    query = select(Post).order_by(Post.updated_at.desc(), Post.id.desc())
    if not user.is_editor:
        query = query.where(Post.author_id == user.id)
    return query


def pending_counts(posts: list[Post]) -> dict[int, int]:
    """Comments waiting for moderation per post, in one grouped query."""
    ids = [p.id for p in posts]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Comment.post_id, func.count())
        .where(Comment.post_id.in_(ids), Comment.status == CommentStatus.PENDING)
        .group_by(Comment.post_id)
    )
    return {post_id: count for post_id, count in rows}


def _category(category_id: int | None) -> Category | None:
    return db.session.get(Category, category_id) if category_id else None


def _apply(post: Post, draft: Draft) -> None:
    """Everything but the text (title, body, excerpt), which revisions and review govern."""
    post.kind = PostKind(draft.kind)
    post.cover_image = draft.cover_image or None
    post.cover_alt = draft.cover_alt.strip() if draft.cover_image else ""


def _apply_text(post: Post, draft: Draft) -> None:
    post.title = draft.title.strip()
    post.body_md = draft.body
    post.excerpt = draft.excerpt.strip()
    render_content(post)


def _set_slug(post: Post, wanted: str) -> None:
    """From the title until first published; afterwards only an explicit change, with a 301."""
    wanted = slugify(wanted or "")
    if wanted in RESERVED_SLUGS:
        wanted += "-post"
    if not wanted:
        if post.slug and slug_is_locked(post):
            return
        slug = unique_slug(post.title, exclude_id=post.id)
        post.slug = unique_slug(slug + "-post") if slug in RESERVED_SLUGS else slug
        return
    if wanted == post.slug:
        return
    if unique_slug(wanted, exclude_id=post.id) != wanted:
        db.session.rollback()
        raise SlugTaken(wanted)
    if post.slug and slug_is_locked(post):
        db.session.add(SlugRedirect(old_slug=post.slug, post=post))
    if post.id is not None:
        # Coming back to an old address: that redirect would now point at itself.
        db.session.execute(delete_rows(SlugRedirect).where(SlugRedirect.old_slug == wanted))
    post.slug = wanted
