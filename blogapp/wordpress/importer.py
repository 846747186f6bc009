"""Import a WordPress export (WXR): posts, pages, authors, terms and threaded comments.

One transaction, flushed in batches: a failure anywhere (malformed XML halfway, a database
error) rolls everything back, so no half-imported post is ever left. Keyed by WordPress ids:
running the same file again changes nothing. Lookups are preloaded into dicts (wp_id -> id,
slugs, terms), so the work per post is a few batched statements, not a query per row.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import unquote

from sqlalchemy import delete, func, insert, select, update

from .. import audit
from ..auth.accounts import AccountError, normalize_email
from ..comments.moderation import truncate_ip
from ..extensions import db
from ..markup import plain_excerpt, render_comment_html, slugify
from ..models import (
    Category,
    Comment,
    CommentStatus,
    Post,
    PostKind,
    PostStatus,
    Role,
    SlugRedirect,
    Tag,
    User,
    post_tags,
    utcnow,
)
from ..posts.services import render_content
from . import content
from .wxr import Author, Item, WPComment, read_wxr

BATCH = 200  # items per flush: bounded memory, few round trips
STATUSES = {
    "publish": PostStatus.PUBLISHED,
    "future": PostStatus.SCHEDULED,
    "draft": PostStatus.DRAFT,
    "pending": PostStatus.DRAFT,
    "private": PostStatus.DRAFT,
}
COMMENT_STATUSES = {
    "1": CommentStatus.APPROVED,
    "approve": CommentStatus.APPROVED,
    "0": CommentStatus.PENDING,
    "hold": CommentStatus.PENDING,
    "spam": CommentStatus.SPAM,
}
SLUG_MAX = 190  # leaves room for a -N suffix within the column's 200
_USERNAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class Report:
    """What an import did (or would do, on a dry run): counts by kind and outcome, warnings."""

    dry_run: bool = False
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    warnings: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@dataclass
class _Known:
    id: int
    guid: str | None
    updated_at: datetime


def parse_date(value: str) -> datetime | None:
    """A WXR date ('2024-03-05 14:02:00'; zeros when unset) as an aware UTC datetime."""
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def import_wxr(source: BinaryIO, dry_run: bool = False, progress=None) -> Report:
    """Import an export file; commit it all at the end, or roll back (dry run or any error)."""
    importer = _Importer(Report(dry_run=dry_run))
    try:
        importer.run(source, progress)
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        counts = ", ".join(
            f"{kind}: {sum(n.values())}" for kind, n in sorted(importer.report.counts.items())
        )
        audit.record(None, audit.Action.IMPORT, detail=f"WordPress export ({counts})")
        db.session.commit()
    return importer.report


class _Importer:
    def __init__(self, report: Report):
        self.report = report
        self.users_by_login: dict[str, int] = {}
        self.users_by_wp_id: dict[int, int] = {}
        self.posts: dict[int, _Known] = {
            row.wp_id: _Known(row.id, row.wp_guid, row.updated_at)
            for row in db.session.execute(
                select(Post.wp_id, Post.id, Post.wp_guid, Post.updated_at).where(
                    Post.wp_id.is_not(None)
                )
            )
        }
        self.slugs: set[str] = set(db.session.scalars(select(Post.slug)))
        self.slugs.update(db.session.scalars(select(SlugRedirect.old_slug)))
        self.categories = dict(db.session.execute(select(Category.slug, Category.id)).all())
        self.tags = dict(db.session.execute(select(Tag.slug, Tag.id)).all())
        self.batch: list[Item] = []
        self.seen: set[int] = set()  # WordPress ids met in this file

    def run(self, source: BinaryIO, progress) -> None:
        for record in read_wxr(source, progress):
            if isinstance(record, Author):
                self.author(record)
                continue
            self.batch.append(record)
            if len(self.batch) >= BATCH:
                self.flush_batch()
        self.flush_batch()

    # Authors -----------------------------------------------------------------------------

    def author(self, author: Author) -> int:
        """The user for a WordPress author: matched by email, else created without a password."""
        if author.login in self.users_by_login:
            return self.users_by_login[author.login]
        email = None
        if author.email:
            try:
                email = normalize_email(author.email)
            except AccountError:
                self.report.warn(f"Author {author.login!r}: email {author.email!r} is not valid.")
        username = _username(author.login)
        if email:
            user = db.session.scalar(select(User).where(User.email_key == email.lower()))
        else:  # an email-less author imported before is found again by name
            user = db.session.scalar(
                select(User).where(
                    User.username_key == username.lower(),
                    User.email_key.is_(None),
                    User.password_hash.is_(None),
                )
            )
        if user is not None:
            self.report.count("author", "matched")
        else:
            user = User(
                username=_free_username(username),
                email=email,
                email_key=email.lower() if email else None,
                display_name=(author.display_name or author.login)[:80],
                role=Role.AUTHOR,
                password_hash=None,  # they choose one through a password reset
            )
            user.username_key = user.username.lower()
            db.session.add(user)
            db.session.flush()
            self.report.count("author", "imported")
            if not email:
                self.report.warn(
                    f"Author {author.login!r} has no email: user {user.username!r} can't "
                    "reset a password until an admin adds one."
                )
        self.users_by_login[author.login] = user.id
        if author.wp_id:
            self.users_by_wp_id[author.wp_id] = user.id
        return user.id

    # Posts -------------------------------------------------------------------------------

    def flush_batch(self) -> None:
        if not self.batch:
            return
        items, self.batch = self.batch, []
        created: list[tuple[Item, Post, list[int]]] = []
        existing: list[tuple[Item, int]] = []
        updated: list[tuple[Item, int]] = []
        for item in items:
            outcome = self.classify(item)
            if outcome is None:
                continue
            self.report.count(item.post_type, outcome)
            if outcome == "imported":
                created.append((item, *self.new_post(item)))
                continue
            existing.append((item, self.posts[item.wp_id].id))
            if outcome == "updated":
                updated.append(existing[-1])
        if updated:
            self.update_posts(updated)
        db.session.flush()
        rows = [{"post_id": p.id, "tag_id": t} for _, p, tags in created for t in tags]
        if rows:
            db.session.execute(insert(post_tags), rows)
        for item, post, _ in created:
            self.posts[item.wp_id] = _Known(post.id, post.wp_guid, post.updated_at)
        self.comments(
            [(item, post.id) for item, post, _ in created] + existing,
            [post_id for _, post_id in existing],
        )
        db.session.flush()
        db.session.expunge_all()  # nothing from this batch stays in memory

    def classify(self, item: Item) -> str | None:
        """'imported', 'updated' or 'unchanged'; None (counted as skipped) for the rest."""
        kind = item.post_type or "post"
        if kind not in (PostKind.POST, PostKind.PAGE):
            self.report.count(kind, "skipped")
            return None
        if item.status not in STATUSES:
            self.report.count(kind, "skipped")
            self.report.warn(f"{kind} {item.wp_id} {item.title!r}: status {item.status!r} skipped.")
            return None
        if item.wp_id <= 0:
            self.report.count(kind, "skipped")
            self.report.warn(f"{kind} {item.title!r} has no wp:post_id; skipped.")
            return None
        if item.wp_id in self.seen:
            self.report.count(kind, "skipped")
            self.report.warn(
                f"{kind} {item.wp_id} {item.title!r} appears twice; the second skipped."
            )
            return None
        self.seen.add(item.wp_id)
        known = self.posts.get(item.wp_id)
        if known is None:
            return "imported"
        if known.guid and item.guid and known.guid != item.guid:
            self.report.count(kind, "skipped")
            self.report.warn(
                f"{kind} {item.wp_id} {item.title!r}: that WordPress id belongs to another "
                f"imported post ({known.guid}); skipped."
            )
            return None
        modified = parse_date(item.modified_gmt)
        if modified and modified > known.updated_at:
            return "updated"  # changed on WordPress since it was imported or edited here
        return "unchanged"

    def fields(self, item: Item) -> dict:
        """The Post columns that come from the WordPress item (all but slug and ids)."""
        status = STATUSES[item.status]
        if item.password.strip() and status != PostStatus.DRAFT:
            status = PostStatus.DRAFT
            self.report.warn(
                f"{item.post_type} {item.wp_id} {item.title!r} was password-protected: "
                "imported as a draft, so it is not public."
            )
        if item.status == "private":
            self.report.warn(
                f"{item.post_type} {item.wp_id} {item.title!r} was private: now a draft."
            )
        date = parse_date(item.post_date_gmt) or parse_date(item.post_date) or utcnow()
        category_id, extra_tags = self.category_for(item)
        body = content.post_html(
            item.content,
            lambda what: self.report.warn(f"{item.post_type} {item.wp_id}: removed {what}."),
        )
        return {
            "kind": PostKind(item.post_type),
            "title": (item.title or "Untitled")[:200],
            "body_md": body,
            "body_format": "html",
            "excerpt": plain_excerpt(item.excerpt),
            "status": status,
            "published_at": None if status == PostStatus.DRAFT else date,
            "author_id": self.author_for(item),
            "category_id": category_id,
            "sticky": item.sticky,
            "comments_open": item.comment_status != "closed",
            "wp_guid": item.guid[:500] or None,
            "updated_at": parse_date(item.modified_gmt) or date,
            "_tags": self.tag_ids(item, extra_tags),
            "_created": date,
        }

    def new_post(self, item: Item) -> tuple[Post, list[int]]:
        values = self.fields(item)
        tag_ids = values.pop("_tags")
        wp_slug = unquote(item.post_name)[:200] or None
        post = Post(
            slug=self.unique_slug(item, wp_slug),
            wp_id=item.wp_id,
            wp_slug=wp_slug,
            created_at=values.pop("_created"),
            **values,
        )
        render_content(post)
        db.session.add(post)
        return post, tag_ids

    def update_posts(self, updated: list[tuple[Item, int]]) -> None:
        """Posts changed on WordPress since: new content and terms; slug and comments kept."""
        by_id = {
            p.id: p
            for p in db.session.scalars(
                select(Post).where(Post.id.in_([pid for _, pid in updated]))
            )
        }
        db.session.execute(delete(post_tags).where(post_tags.c.post_id.in_(list(by_id))))
        rows = []
        for item, post_id in updated:
            post = by_id[post_id]
            values = self.fields(item)
            rows += [{"post_id": post_id, "tag_id": t} for t in values.pop("_tags")]
            values.pop("_created")
            for name, value in values.items():
                setattr(post, name, value)
            render_content(post)
            self.posts[item.wp_id].updated_at = values["updated_at"]
        db.session.flush()
        if rows:
            db.session.execute(insert(post_tags), rows)

    def unique_slug(self, item: Item, wp_slug: str | None) -> str:
        base = slugify(wp_slug or "", SLUG_MAX) or slugify(item.title, SLUG_MAX) or "post"
        slug, n = base, 2
        while slug in self.slugs:
            slug, n = f"{base}-{n}", n + 1
        if slug != base:
            self.report.warn(
                f"{item.post_type} {item.wp_id}: slug {base!r} was taken; it is now {slug!r} "
                "(its WordPress links still redirect to it)."
            )
        self.slugs.add(slug)
        return slug

    def author_for(self, item: Item) -> int:
        login = item.creator or "wordpress"
        if login not in self.users_by_login:
            self.author(Author(wp_id=None, login=login, email="", display_name=login))
        return self.users_by_login[login]

    def category_for(self, item: Item) -> tuple[int | None, list]:
        """The post's one category (the first, not 'uncategorized' if there is another).

        WordPress categories form a tree; here they are flat (each keeps its own slug) and a
        post has one, so its other categories become tags of the same name.
        """
        terms = [t for t in item.terms if t.domain == "category"]
        if len(terms) > 1:
            terms.sort(key=lambda t: t.slug == "uncategorized")
        if not terms:
            return None, []
        first = terms[0]
        slug = _term_slug(first)
        if slug not in self.categories:
            category = Category(name=(first.name or slug)[:80], slug=slug)
            db.session.add(category)
            db.session.flush()
            self.categories[slug] = category.id
            self.report.count("category", "imported")
        return self.categories[slug], terms[1:]

    def tag_ids(self, item: Item, extra: list) -> list[int]:
        ids: list[int] = []
        for term in [t for t in item.terms if t.domain == "post_tag"] + extra:
            slug = _term_slug(term)
            if slug not in self.tags:
                tag = Tag(name=(term.name or slug)[:80], slug=slug)
                db.session.add(tag)
                db.session.flush()
                self.tags[slug] = tag.id
                self.report.count("tag", "imported")
            if self.tags[slug] not in ids:
                ids.append(self.tags[slug])
        return ids

    # Comments ----------------------------------------------------------------------------

    def comments(self, targets: list[tuple[Item, int]], existing_posts: list[int]) -> None:
        """Insert the batch's new comments, parents before replies, a level at a time."""
        ids: dict[tuple[int, int], tuple[int, int]] = {}  # (post id, wp id) -> (id, root id)
        if existing_posts:
            for row in db.session.execute(
                select(Comment.post_id, Comment.wp_id, Comment.id, Comment.root_id).where(
                    Comment.post_id.in_(existing_posts), Comment.wp_id.is_not(None)
                )
            ):
                ids[(row.post_id, row.wp_id)] = (row.id, row.root_id)
        levels: dict[int, list[tuple[int, WPComment, int | None]]] = defaultdict(list)
        touched: set[int] = set()
        for item, post_id in targets:
            by_wp_id = {c.wp_id: c for c in item.comments}
            kept = {}
            for c in item.comments:
                kind = _comment_kind(c)
                if kind != "comment":
                    self.report.count(kind, "skipped")
                elif c.wp_id <= 0 or c.wp_id in kept:
                    self.report.count("comment", "skipped")
                    self.report.warn(f"post {item.wp_id}: a comment with a missing or repeated id.")
                elif (post_id, c.wp_id) in ids:
                    self.report.count("comment", "unchanged")
                else:
                    kept[c.wp_id] = c
            for c in kept.values():
                parent = _nearest_parent(c, by_wp_id, kept, ids, post_id)
                levels[_depth(c, by_wp_id, kept)].append((post_id, c, parent))
                touched.add(post_id)
        for depth in sorted(levels):
            rows = []
            for post_id, c, parent_wp in levels[depth]:
                parent = ids.get((post_id, parent_wp)) if parent_wp else None
                rows.append(self.comment_row(post_id, c, parent))
            new_ids = db.session.scalars(
                insert(Comment).returning(Comment.id, sort_by_parameter_order=True), rows
            ).all()
            for (post_id, c, _), new_id, row in zip(levels[depth], new_ids, rows, strict=True):
                ids[(post_id, c.wp_id)] = (new_id, row["root_id"] or new_id)
            self.report.count("comment", "imported", len(rows))
        if touched:
            # Top-level comments are their own thread's root.
            db.session.execute(
                update(Comment)
                .where(
                    Comment.post_id.in_(touched),
                    Comment.root_id.is_(None),
                    Comment.parent_id.is_(None),
                    Comment.wp_id.is_not(None),
                )
                .values(root_id=Comment.id)
                .execution_options(synchronize_session=False)
            )
            # comment_count is approved comments; updated_at is kept (a comment is no edit).
            approved = (
                select(func.count(Comment.id))
                .where(Comment.post_id == Post.id, Comment.status == CommentStatus.APPROVED)
                .scalar_subquery()
            )
            db.session.execute(
                update(Post)
                .where(Post.id.in_(touched))
                .values(comment_count=approved, updated_at=Post.updated_at)
                .execution_options(synchronize_session=False)
            )

    def comment_row(self, post_id: int, c: WPComment, parent: tuple[int, int] | None) -> dict:
        status = COMMENT_STATUSES[c.approved]
        user_id = self.users_by_wp_id.get(c.user_id) if c.user_id else None
        website = c.author_url if re.match(r"https?://", c.author_url, re.I) else ""
        return {
            "post_id": post_id,
            "parent_id": parent[0] if parent else None,
            "root_id": parent[1] if parent else None,
            "user_id": user_id,
            "guest_name": "" if user_id else (c.author or "Anonymous")[:80],
            "guest_email": "" if user_id else c.author_email[:254],
            "guest_website": "" if user_id else website[:300],
            "status": status,
            "held_reason": "Held on WordPress" if status == CommentStatus.PENDING else "",
            "body_md": c.content,
            "body_html": render_comment_html(content.comment_html(c.content)),
            "created_at": parse_date(c.date_gmt) or parse_date(c.date) or utcnow(),
            "ip": truncate_ip(c.author_ip),
            "wp_id": c.wp_id,
        }


def _comment_kind(c: WPComment) -> str:
    """'comment' for what we import; otherwise the kind counted as skipped."""
    if c.type in ("pingback", "trackback"):
        return c.type
    if c.type not in ("", "comment"):
        return f"comment type {c.type}"
    if c.approved not in COMMENT_STATUSES:
        return f"comment ({c.approved or 'no status'})"  # trash, post-trashed
    return "comment"


def _nearest_parent(c, by_wp_id, kept, known, post_id) -> int | None:
    """The nearest ancestor that is imported (a trashed parent's reply moves up a level)."""
    seen = {c.wp_id}
    parent = c.parent
    while parent and parent not in seen:
        if parent in kept or (post_id, parent) in known:
            return parent
        seen.add(parent)
        parent = by_wp_id[parent].parent if parent in by_wp_id else 0
    return None


def _depth(c, by_wp_id, kept) -> int:
    """How many imported ancestors it has in this file (the insert order of levels)."""
    depth, seen, parent = 0, {c.wp_id}, c.parent
    while parent and parent not in seen and parent in by_wp_id:
        seen.add(parent)
        if parent in kept:
            depth += 1
        parent = by_wp_id[parent].parent
    return depth


def _term_slug(term) -> str:
    slug = slugify(unquote(term.slug), 100) or slugify(term.name, 100)
    return slug or "term"


def _username(login: str) -> str:
    """A valid username from a WordPress login: 3-30 letters, digits, - or _."""
    name = _USERNAME_BAD.sub("-", slugify(login, 30) if not login.isascii() else login)
    name = name.strip("-")[:30] or "author"
    return name if len(name) >= 3 else f"{name}-wp"


def _free_username(base: str) -> str:
    taken = set(
        db.session.scalars(
            select(User.username_key).where(User.username_key.like(f"{base.lower()[:26]}%"))
        )
    )
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"-{n}"
        name, n = base[: 30 - len(suffix)] + suffix, n + 1
    return name
