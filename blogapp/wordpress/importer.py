"""Import a WordPress export (WXR): posts, pages, authors, terms, comments, media, old addresses.

One transaction, flushed in batches: a failure anywhere (malformed XML halfway, a database
error) rolls everything back, so no half-imported post is ever left (and the image files
this run stored are removed again). Keyed by WordPress ids: running the same file again
changes nothing. Lookups are preloaded into dicts (wp_id -> id, slugs, terms, addresses),
so the work per post is a few batched statements, not a query per row.

Two passes over the file: the first reads what items refer to and may come after them in
any order (authors, terms, attachments, reusable blocks); the second imports the items.
Rendering and sanitizing, the costly part, runs in a pool of worker processes for big
files while this process parses and writes; the results are the same either way.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import delete, insert, select, update

from .. import audit, uploads
from ..auth.accounts import AccountError, normalize_email
from ..comments.moderation import truncate_ip
from ..comments.services import store_counts
from ..extensions import db
from ..markup import plain_excerpt, render_comment_html, render_description, slugify
from ..models import (
    Category,
    Comment,
    CommentStatus,
    OldAddress,
    Post,
    PostKind,
    PostStatus,
    Role,
    SlugRedirect,
    Tag,
    User,
    WordPressMedia,
    post_tags,
    utcnow,
)
from ..posts.services import rendered_columns
from . import content, media
from .redirects import UPLOADS, old_key
from .wxr import Author, ChannelTerm, Item, Site, Term, WPComment, read_wxr

# Comments on a site come from a few thousand addresses at most: each is truncated once.
_truncate_ip = lru_cache(maxsize=65536)(truncate_ip)
BATCH = 200  # items per flush: bounded memory, few round trips
POOL_FROM_BYTES = 4_000_000  # smaller files are rendered in this process (no start-up cost)
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
# Block themes' own types: they style a WordPress site and mean nothing here.
THEME_TYPES = frozenset(
    {"wp_template", "wp_template_part", "wp_navigation", "wp_global_styles",
     "wp_font_family", "wp_font_face"}
)  # fmt: skip
SLUG_MAX = 190  # leaves room for a -N suffix within the column's 200
_USERNAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class Report:
    """What an import did (or would do, on a dry run), for the summary and --report JSON."""

    dry_run: bool = False
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reasons: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    warnings: list[str] = field(default_factory=list)
    redirects: list[dict] = field(default_factory=list)
    missing_media: list[str] = field(default_factory=list)
    missing_alt: list[dict] = field(default_factory=list)
    sanitized: list[dict] = field(default_factory=list)

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def skip(self, kind: str, reason: str, n: int = 1) -> None:
        self.counts[kind]["skipped"] += n
        self.reasons[kind][reason] += n

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def as_json(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "counts": {kind: dict(c) for kind, c in sorted(self.counts.items())},
            "skipped_because": {kind: dict(c) for kind, c in sorted(self.reasons.items())},
            "redirects": self.redirects,
            "missing_media": self.missing_media,
            "images_without_alt": self.missing_alt,
            "changed_by_sanitizer": self.sanitized,
            "warnings": self.warnings,
        }


@dataclass
class _Known:
    id: int
    guid: str | None
    updated_at: datetime


@dataclass
class _Survey:
    """What the first pass found: things items refer to, wherever they are in the file."""

    site: Site = field(default_factory=Site)
    authors: list[Author] = field(default_factory=list)
    terms: list[ChannelTerm] = field(default_factory=list)
    attachments: list[Item] = field(default_factory=list)
    reusable: dict[int, str] = field(default_factory=dict)


def parse_date(value: str) -> datetime | None:
    """A WXR date ('2024-03-05 14:02:00'; zeros when unset) as an aware UTC datetime."""
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def import_wxr(
    source: BinaryIO,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    media_dir: str | None = None,
    upload_dir: str | None = None,
    max_upload_bytes: int = 5 * 1024 * 1024,
    workers: int | None = None,
) -> Report:
    """Import an export file (seekable: it is read twice); commit it all at the end, or roll
    back (dry run or any error). ``progress`` gets bytes read over both passes."""
    importer = _Importer(
        Report(dry_run=dry_run),
        Path(media_dir) if media_dir else None,
        upload_dir or current_app.config["UPLOAD_DIR"],
        max_upload_bytes,
    )
    try:
        importer.run(source, progress, workers)
    except BaseException:
        db.session.rollback()
        importer.remove_stored_files()
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


# Rendering: plain functions of plain values, run here or in worker processes -------------

_shared: dict = {}


def _init_worker(reusable: dict[int, str], media_map: media.MediaMap | None) -> None:
    _shared["reusable"] = reusable
    _shared["media"] = media_map


def render_batch(job: dict) -> dict:
    """Posts' and comments' HTML for one batch (what the workers do)."""
    posts = []
    for raw, footnotes, excerpt in job["posts"]:
        notes: list[str] = []
        body = content.post_html(
            raw, notes.append, _shared.get("reusable"), footnotes, _shared.get("media")
        )
        summary_excerpt = plain_excerpt(excerpt) if excerpt.strip() else ""
        columns = rendered_columns(body, "html", summary_excerpt)
        posts.append(
            {
                "body_md": body,
                "excerpt": summary_excerpt,
                "columns": columns,
                "notes": notes,
                "removed": content.removed_markup(body, columns["body_html"]),
                "no_alt": content.images_without_alt(body),
            }
        )
    comments = [render_comment_html(content.comment_html(text)) for text in job["comments"]]
    return {"posts": posts, "comments": comments}


class _Serial:
    """The pool's interface, in this process: small files don't pay for workers."""

    def submit(self, fn, job) -> Future:
        future: Future = Future()
        future.set_result(fn(job))
        return future

    def shutdown(self) -> None:
        pass


@dataclass
class _Batch:
    created: list[tuple[Item, dict, list[int]]] = field(default_factory=list)
    updated: list[tuple[Item, int, dict, list[int]]] = field(default_factory=list)
    existing: list[tuple[Item, int]] = field(default_factory=list)
    comment_levels: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    targets: list[tuple[Item, int | None]] = field(default_factory=list)
    future: Future | None = None


class _Importer:
    def __init__(self, report: Report, media_dir: Path | None, upload_dir: str, max_bytes: int):
        self.report = report
        self.media_dir = media_dir
        self.upload_dir = upload_dir
        self.max_bytes = max_bytes
        self.stored_files: list[str] = []  # removed again if the import fails
        self.urls = current_app.url_map.bind("localhost")
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
        self.addresses: set[str] = set(db.session.scalars(select(OldAddress.path)))
        self.new_addresses: list[dict] = []
        self.media: dict[int, WordPressMedia] = {}  # attachment wp id -> stored image
        self.sources: dict[int, Path] = {}  # attachment wp id -> its original file
        self.hosts: set[str] = set()
        self.channel_tags: dict[str, str] = {}  # name (lower) -> nicename, for plain RSS terms
        self.channel_categories: dict[str, str] = {}
        self.seen: set[int] = set()  # WordPress ids met in this file
        self.surveyed = False  # the first pass read the channel and the attachments

    def run(self, source: BinaryIO, progress, workers: int | None) -> None:
        size = _size(source)
        if _refers_ahead(source):
            survey = self.survey(source, progress)
            source.seek(0)
            self.site(survey.site)
            for author in survey.authors:
                self.author(author)
            self.channel_terms(survey.terms)
            self.import_media(survey.attachments)
            self.surveyed = True
        else:  # nothing an item could refer to ahead of it: one pass does it all
            survey = _Survey()
            if progress:
                progress(size)
        pool = self.pool(size, workers, survey)
        try:
            self.import_items(source, pool, (lambda p: progress(size + p)) if progress else None)
        finally:
            pool.shutdown()

    def site(self, site: Site) -> None:
        self.hosts = _hosts(site)

    def survey(self, source: BinaryIO, progress) -> _Survey:
        found = _Survey()
        for record in read_wxr(source, progress, only_types=frozenset({"attachment", "wp_block"})):
            if isinstance(record, Site):
                found.site = record
            elif isinstance(record, Author):
                found.authors.append(record)
            elif isinstance(record, ChannelTerm):
                found.terms.append(record)
            elif record.post_type == "attachment":
                record.comments = []
                found.attachments.append(record)
            elif record.post_type == "wp_block" and record.wp_id:
                found.reusable[record.wp_id] = record.content
        return found

    def pool(self, size: int, workers: int | None, survey: _Survey):
        if workers is None:
            workers = min(2, os.cpu_count() or 1) if size >= POOL_FROM_BYTES else 0
        media_map = self.media_map(survey.attachments)
        if workers <= 0:
            _init_worker(survey.reusable, media_map)
            return _Serial()
        # spawn, not fork: a forked child would share this process's database connections.
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(survey.reusable, media_map),
        )

    def remove_stored_files(self) -> None:
        for name in self.stored_files:
            uploads.delete_image(name, self.upload_dir)

    # Old addresses -----------------------------------------------------------------------

    def address(self, path: str | None, target: str, **row) -> None:
        """Remember an old address for its new target (the first claim of a path wins)."""
        if not path or path in self.addresses or path == "/":
            return
        self.addresses.add(path)
        self.new_addresses.append({"path": path, "created_at": utcnow(), **row})
        self.report.redirects.append({"from": path, "to": target})

    def flush_addresses(self) -> None:
        if self.new_addresses:
            rows, self.new_addresses = self.new_addresses, []
            db.session.execute(insert(OldAddress), rows)

    def url(self, endpoint: str, **values) -> str:
        return self.urls.build(endpoint, values)

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
        target = self.url("posts.author", username=user.username)
        # WordPress's author address uses the login made into a slug (user_nicename).
        for nicename in {slugify(author.login, 100), author.login.lower()}:
            if nicename:
                self.address(f"/author/{nicename}", target, user_id=user.id)
        if author.wp_id:
            self.users_by_wp_id[author.wp_id] = user.id
            self.address(f"/?author={author.wp_id}", target, user_id=user.id)
        return user.id

    # Categories and tags -----------------------------------------------------------------

    def channel_terms(self, terms: list[ChannelTerm]) -> None:
        """The channel's categories (with their nesting, for /category/parent/child/) and tags."""
        parents = {t.slug: t.parent for t in terms if t.taxonomy == "category"}
        for term in terms:
            if term.taxonomy == "category":
                self.channel_categories[term.name.lower()] = term.slug
                category_id = self.category(Term("category", term.slug, term.name), term)
                path = _category_path(term.slug, parents)
                target = self.url("posts.category", slug=_term_slug(Term("", term.slug, term.name)))
                self.address(f"/category/{path}", target, category_id=category_id)
                if term.term_id:
                    self.address(f"/?cat={term.term_id}", target, category_id=category_id)
            elif term.taxonomy == "post_tag":
                self.channel_tags[term.name.lower()] = term.slug
                self.tag(Term("post_tag", term.slug, term.name))
            else:
                self.report.skip("term", f"taxonomy {term.taxonomy or '(none)'}")

    def category(self, term: Term, declared: ChannelTerm | None = None) -> int:
        def new_category(**name_and_slug) -> Category:
            description = plain_excerpt(declared.description) if declared else ""
            return Category(
                **name_and_slug,
                description=description,
                description_html=render_description(description),  # shown as HTML
            )

        category_id, slug, nicename = self.term_row(term, "category", self.categories, new_category)
        self.address(
            f"/category/{nicename}", self.url("posts.category", slug=slug), category_id=category_id
        )
        return category_id

    def tag(self, term: Term) -> int:
        tag_id, slug, nicename = self.term_row(term, "tag", self.tags, Tag)
        target = self.url("posts.tag", slug=slug)
        self.address(f"/tag/{nicename}", target, tag_id=tag_id)
        self.address(f"/?tag={nicename}", target, tag_id=tag_id)
        return tag_id

    def term_row(self, term: Term, kind: str, known: dict[str, int], new) -> tuple[int, str, str]:
        """A category's or tag's row, made by new(name=, slug=) the first time it is met: its
        id, its slug here, and its name in the old site's addresses."""
        slug = _term_slug(term)
        if slug not in known:
            row = new(name=(term.name or slug)[:80], slug=slug)
            db.session.add(row)
            db.session.flush()
            known[slug] = row.id
            self.report.count(kind, "imported")
        return known[slug], slug, unquote(term.slug or slug).lower()

    def category_for(self, item: Item) -> tuple[int | None, list[Term]]:
        """The post's one category (the first, not 'uncategorized' if there is another).

        WordPress categories form a tree; here they are flat (each keeps its own slug) and a
        post has one, so its other categories become tags of the same name. A plain RSS
        <category> (no domain) is a category or a tag as the channel declares it.
        """
        terms = [t for t in item.terms if self.term_kind(t) == "category"]
        if len(terms) > 1:
            terms.sort(key=lambda t: _term_slug(t) == "uncategorized")
        if not terms:
            return None, []
        first = terms[0]
        return self.category(first), terms[1:]

    def term_kind(self, term: Term) -> str:
        if term.domain:
            return term.domain
        name = term.name.lower()
        if name in self.channel_categories or _term_slug(term) == "uncategorized":
            return "category"
        return "post_tag"

    def tag_ids(self, item: Item, extra: list[Term]) -> list[int]:
        ids: list[int] = []
        for term in [t for t in item.terms if self.term_kind(t) == "post_tag"] + extra:
            if not term.slug and term.name.lower() in self.channel_tags:
                term = Term("post_tag", self.channel_tags[term.name.lower()], term.name)
            tag_id = self.tag(term)
            if tag_id not in ids:
                ids.append(tag_id)
        return ids

    # Media -------------------------------------------------------------------------------

    def import_media(self, attachments: list[Item]) -> None:
        """Each attachment's file from the uploads copy, through the upload pipeline."""
        known = {m.wp_id: m for m in db.session.scalars(select(WordPressMedia))}
        by_file = {m.file: m for m in known.values()}
        if attachments and self.media_dir is None:
            self.report.skip("attachment", "no --media folder given", len(attachments))
            self.report.warn(
                f"{len(attachments)} attachments were not brought across: give the copy of "
                "wp-content/uploads with --media DIR."
            )
        for item in attachments:
            if item.error:
                self.report.skip("attachment", "id out of range")
                self.report.warn(f"attachment {item.title!r}: {item.error}; skipped.")
                continue
            file = media.attachment_file(item)
            existing = known.get(item.wp_id) or (by_file.get(file) if file else None)
            if existing is not None:
                self.media[item.wp_id] = existing
                if self.media_dir is not None:
                    self.report.count("attachment", "unchanged")
                    if found := media.find(self.media_dir, item):
                        self.sources[item.wp_id] = found
                continue
            if self.media_dir is None:
                continue
            if not file:
                self.report.skip("attachment", "no file named")
                continue
            path = media.find(self.media_dir, item)
            if path is None:
                self.report.skip("attachment", "file missing")
                self.report.missing_media.append(file)
                self.report.warn(f"attachment {item.wp_id}: {file} is not in the media folder.")
                continue
            if self.report.dry_run:
                self.report.count("attachment", "imported")
                continue
            try:
                name = media.store(path, self.upload_dir, self.max_bytes)
            except uploads.UploadError as refusal:
                self.report.skip("attachment", "not an image we accept")
                self.report.warn(f"attachment {item.wp_id}: {file}: {refusal}")
                continue
            self.stored_files.append(name)
            image = WordPressMedia(
                wp_id=item.wp_id or None,
                file=file,
                name=name,
                alt=item.meta.get("_wp_attachment_image_alt", "")[:300],
            )
            db.session.add(image)
            db.session.flush()
            known[item.wp_id] = by_file[file] = self.media[item.wp_id] = image
            self.sources[item.wp_id] = path
            self.report.count("attachment", "imported")
            target = self.url("posts.upload", name=name)
            for url in (item.link, item.guid):
                path_key = old_key(url, self.hosts)
                if path_key and not path_key.startswith(UPLOADS.rstrip("/")):
                    self.address(path_key, target, media_id=image.id)
            if item.wp_id:
                self.address(f"/?attachment_id={item.wp_id}", target, media_id=image.id)
        self.flush_addresses()

    def media_map(self, attachments: list[Item]) -> media.MediaMap | None:
        files = {m.file: m.name for m in db.session.scalars(select(WordPressMedia))}
        if not files:
            return None
        prefixes = []
        for item in attachments:
            file = media.attachment_file(item)
            url = item.attachment_url
            if file and url.lower().endswith(file):
                prefixes.append(url[: -len(file)])
        return media.MediaMap(files, prefixes, self.hosts, uploads.PUBLIC_PATH)

    def cover(self, post: Post, item: Item) -> None:
        """The featured image (_thumbnail_id) as the cover: its own copy, with its alt text."""
        try:
            wp_id = int(item.meta.get("_thumbnail_id", "0") or 0)
        except ValueError:
            return
        image = self.media.get(wp_id)
        if image is None or post.cover_image or self.report.dry_run:
            return
        source = self.sources.get(wp_id) or Path(self.upload_dir) / image.name
        try:
            # Its own copy: deleting the post deletes its cover, never the library's image.
            post.cover_image = media.store(source, self.upload_dir, self.max_bytes)
        except (uploads.UploadError, OSError):
            return
        self.stored_files.append(post.cover_image)
        post.cover_alt = image.alt
        if not image.alt:
            self.report.missing_alt.append(
                {"post": post.slug, "title": post.title, "image": image.file, "as": "cover"}
            )

    # Posts -------------------------------------------------------------------------------

    def import_items(self, source: BinaryIO, pool, progress) -> None:
        in_flight: deque[_Batch] = deque()
        items: list[Item] = []
        depth = getattr(pool, "_max_workers", 0) + 1

        def submit() -> None:
            batch = self.plan(items)
            batch.future = pool.submit(render_batch, self.render_job(batch))
            in_flight.append(batch)
            while len(in_flight) > depth:
                self.write(in_flight.popleft())

        for record in read_wxr(source, progress):
            if isinstance(record, Item):
                items.append(record)
                if len(items) >= BATCH:
                    submit()
                    items = []
            elif self.surveyed:
                continue  # read in the first pass
            elif isinstance(record, Site):
                self.site(record)
            elif isinstance(record, Author):
                self.author(record)
            elif isinstance(record, ChannelTerm):
                self.channel_terms([record])
        submit()
        while in_flight:
            self.write(in_flight.popleft())

    def plan(self, items: list[Item]) -> _Batch:
        """Sort a batch's items into new, changed and unchanged, and plan their comments."""
        batch = _Batch()
        for item in items:
            outcome = self.classify(item)
            if outcome is None:
                continue
            self.report.count(item.post_type, outcome)
            if outcome == "imported":
                values = self.fields(item)
                batch.created.append((item, values, values.pop("_tags")))
                continue
            post_id = self.posts[item.wp_id].id
            batch.existing.append((item, post_id))
            if outcome == "updated":
                values = self.fields(item)
                batch.updated.append((item, post_id, values, values.pop("_tags")))
        self.plan_comments(batch)
        return batch

    def render_job(self, batch: _Batch) -> dict:
        posts = [(i.content, i.meta.get("footnotes", ""), i.excerpt) for i, *_ in batch.created]
        posts += [(i.content, i.meta.get("footnotes", ""), i.excerpt) for i, *_ in batch.updated]
        comments = [c.content for depth in sorted(batch.comment_levels)
                    for _, c, _ in batch.comment_levels[depth]]  # fmt: skip
        return {"posts": posts, "comments": comments}

    def write(self, batch: _Batch) -> None:
        result = batch.future.result()
        rendered = iter(result["posts"])
        created: list[tuple[Item, Post, list[int], dict]] = []
        for item, values, tag_ids in batch.created:
            done = next(rendered)
            post = self.new_post(item, values, done)
            created.append((item, post, tag_ids, done))
        updated = [(*entry, next(rendered)) for entry in batch.updated]
        if updated:
            self.update_posts(updated)
        db.session.flush()
        rows = [{"post_id": p.id, "tag_id": t} for _, p, tags, _ in created for t in tags]
        if rows:
            db.session.execute(insert(post_tags), rows)
        for item, post, _, done in created:
            self.posts[item.wp_id] = _Known(post.id, post.wp_guid, post.updated_at)
            self.post_addresses(item, post)
            self.note_rendering(item, post.slug, post.title, done)
        self.insert_comments(batch, iter(result["comments"]))
        self.flush_addresses()
        db.session.flush()
        db.session.expunge_all()  # nothing from this batch stays in memory

    def note_rendering(self, item: Item, slug: str, title: str, done: dict) -> None:
        for what, n in Counter(done["notes"]).items():
            times = f" x{n}" if n > 1 else ""
            self.report.warn(f"{item.post_type} {item.wp_id}: removed {what}{times}.")
        if done["removed"]:
            self.report.sanitized.append(
                {"post": slug, "wp_id": item.wp_id, "title": title, "removed": done["removed"]}
            )
        for src in done["no_alt"]:
            self.report.missing_alt.append({"post": slug, "title": title, "image": src})

    def post_addresses(self, item: Item, post: Post) -> None:
        """The item's real old addresses (its link and guid), and WordPress's id links."""
        endpoint = "posts.page" if post.kind == PostKind.PAGE else "posts.detail"
        target = self.url(endpoint, slug=post.slug)
        for url in (item.link, item.guid):
            self.address(old_key(url, self.hosts), target, post_id=post.id)
        self.address(f"/?p={item.wp_id}", target, post_id=post.id)
        if post.kind == PostKind.PAGE:
            self.address(f"/?page_id={item.wp_id}", target, post_id=post.id)

    def classify(self, item: Item) -> str | None:
        """'imported', 'updated' or 'unchanged'; None (counted as skipped) for the rest."""
        kind = item.post_type or "post"
        item.post_type = kind
        if kind == "attachment":
            return None  # counted with the media
        if kind == "wp_block":
            self.report.skip(kind, "reusable block: expanded where it is used")
            return None
        if kind in THEME_TYPES:
            self.report.skip(kind, "theme-only type")
            return None
        if kind not in (PostKind.POST, PostKind.PAGE):
            self.report.skip(kind, "not a post or page")
            return None
        if item.error:
            self.report.skip(kind, "id out of range")
            self.report.warn(f"{kind} {item.title!r}: {item.error}; skipped.")
            return None
        if item.status not in STATUSES:
            self.report.skip(kind, f"status {item.status or '(none)'}")
            self.report.warn(f"{kind} {item.wp_id} {item.title!r}: status {item.status!r} skipped.")
            return None
        if item.wp_id <= 0:
            self.report.skip(kind, "no id")
            self.report.warn(f"{kind} {item.title!r} has no wp:post_id; skipped.")
            return None
        if item.wp_id in self.seen:
            self.report.skip(kind, "appears twice")
            self.report.warn(
                f"{kind} {item.wp_id} {item.title!r} appears twice; the second skipped."
            )
            return None
        self.seen.add(item.wp_id)
        known = self.posts.get(item.wp_id)
        if known is None:
            return "imported"
        if known.guid and item.guid and known.guid != item.guid[:500]:
            self.report.skip(kind, "id belongs to another imported post")
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
        """The Post columns that come from the WordPress item (all but slug, ids and HTML)."""
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
        return {
            "kind": PostKind(item.post_type),
            "title": _title(item.title),
            "body_format": "html",
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

    def new_post(self, item: Item, values: dict, done: dict) -> Post:
        values = dict(values)
        wp_slug = unquote(item.post_name)[:200] or None
        post = Post(
            slug=self.unique_slug(item, wp_slug),
            wp_id=item.wp_id,
            wp_slug=wp_slug,
            created_at=values.pop("_created"),
            body_md=done["body_md"],
            excerpt=done["excerpt"],
            **done["columns"],
            **values,
        )
        self.cover(post, item)
        db.session.add(post)
        return post

    def update_posts(self, updated: list) -> None:
        """Posts changed on WordPress since: new content and terms; slug and comments kept."""
        by_id = {
            p.id: p
            for p in db.session.scalars(
                select(Post).where(Post.id.in_([entry[1] for entry in updated]))
            )
        }
        db.session.execute(delete(post_tags).where(post_tags.c.post_id.in_(list(by_id))))
        rows = []
        for item, post_id, values, tag_ids, done in updated:
            post = by_id[post_id]
            rows += [{"post_id": post_id, "tag_id": t} for t in tag_ids]
            values = {k: v for k, v in values.items() if k != "_created"}
            values.update(body_md=done["body_md"], excerpt=done["excerpt"], **done["columns"])
            for name, value in values.items():
                setattr(post, name, value)
            self.cover(post, item)
            self.posts[item.wp_id].updated_at = values["updated_at"]
            self.post_addresses(item, post)
            self.note_rendering(item, post.slug, post.title, done)
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

    # Comments ----------------------------------------------------------------------------

    def plan_comments(self, batch: _Batch) -> None:
        """Which of the batch's comments are new, and their levels (parents before replies)."""
        targets = [(item, None) for item, *_ in batch.created] + batch.existing
        existing_posts = [post_id for _, post_id in batch.existing]
        known: dict[int, set[int]] = defaultdict(set)  # post id -> its comments' wp ids
        if existing_posts:
            for row in db.session.execute(
                select(Comment.post_id, Comment.wp_id).where(
                    Comment.post_id.in_(existing_posts), Comment.wp_id.is_not(None)
                )
            ):
                known[row.post_id].add(row.wp_id)
        for index, (item, post_id) in enumerate(targets):
            by_wp_id = {c.wp_id: c for c in item.comments if c.wp_id}
            kept: dict[int, WPComment] = {}
            for c in item.comments:
                kind = _comment_kind(c)
                if c.error:
                    self.report.skip("comment", "id out of range")
                    self.report.warn(f"post {item.wp_id}: a comment's {c.error}; skipped.")
                elif kind != "comment":
                    self.report.skip(kind, "not imported (pingbacks, trackbacks, trash)")
                elif c.wp_id <= 0 or c.wp_id in kept:
                    self.report.skip("comment", "missing or repeated id")
                    self.report.warn(f"post {item.wp_id}: a comment with a missing or repeated id.")
                elif post_id is not None and c.wp_id in known[post_id]:
                    self.report.count("comment", "unchanged")
                else:
                    kept[c.wp_id] = c
            present = known[post_id] if post_id is not None else set()
            for c in kept.values():
                parent = _nearest_parent(c, by_wp_id, kept, present)
                batch.comment_levels[_depth(c, by_wp_id, kept)].append((index, c, parent))
        batch.targets = targets

    def insert_comments(self, batch: _Batch, rendered) -> None:
        """Insert the batch's new comments, a level at a time, with their rendered HTML."""
        if not batch.comment_levels:
            return
        post_ids = [
            self.posts[item.wp_id].id if post_id is None else post_id
            for item, post_id in batch.targets
        ]
        ids: dict[tuple[int, int], tuple[int, int]] = {}  # (post id, wp id) -> (id, root id)
        existing_posts = [post_id for _, post_id in batch.existing]
        if existing_posts:
            for row in db.session.execute(
                select(Comment.post_id, Comment.wp_id, Comment.id, Comment.root_id).where(
                    Comment.post_id.in_(existing_posts), Comment.wp_id.is_not(None)
                )
            ):
                ids[(row.post_id, row.wp_id)] = (row.id, row.root_id)
        touched: set[int] = set()
        for depth in sorted(batch.comment_levels):
            level = batch.comment_levels[depth]
            rows = []
            for index, c, parent_wp in level:
                post_id = post_ids[index]
                parent = ids.get((post_id, parent_wp)) if parent_wp else None
                rows.append(self.comment_row(post_id, c, parent, next(rendered)))
                touched.add(post_id)
            # A plain executemany, then the new ids in one query: RETURNING in parameter
            # order makes SQLite run one statement per row.
            db.session.execute(insert(Comment), rows)
            level_posts = {row["post_id"] for row in rows}
            new_ids = {
                (row.post_id, row.wp_id): row.id
                for row in db.session.execute(
                    select(Comment.post_id, Comment.wp_id, Comment.id).where(
                        Comment.post_id.in_(level_posts),
                        Comment.wp_id.in_({row["wp_id"] for row in rows}),
                    )
                )
            }
            for row in rows:
                new_id = new_ids[(row["post_id"], row["wp_id"])]
                ids[(row["post_id"], row["wp_id"])] = (new_id, row["root_id"] or new_id)
            self.report.count("comment", "imported", len(rows))
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
        store_counts(Post.id.in_(touched))

    def comment_row(
        self, post_id: int, c: WPComment, parent: tuple[int, int] | None, body_html: str
    ) -> dict:
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
            "body_html": body_html,
            "created_at": parse_date(c.date_gmt) or parse_date(c.date) or utcnow(),
            "ip": _truncate_ip(c.author_ip),
            "wp_id": c.wp_id,
        }


def _title(raw: str) -> str:
    """WordPress keeps titles as HTML ('Media &amp; Text'); here they are plain text, with
    no control characters (a CR or LF in a title would break mail headers)."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", html.unescape(raw))
    return " ".join(text.split())[:200] or "Untitled"


# An attachment or reusable block anywhere in the file: posts may use it before it comes.
_AHEAD = re.compile(rb"(?:attachment|wp_block)\s*(?:\]\]>)?\s*</[A-Za-z0-9_.-]+:post_type>")


def _refers_ahead(source: BinaryIO, chunk: int = 1 << 20) -> bool:
    """Whether the file needs the first pass (a byte scan: far quicker than parsing it)."""
    tail = b""
    try:
        while data := source.read(chunk):
            if _AHEAD.search(tail + data):
                return True
            tail = data[-200:]
        return False
    finally:
        source.seek(0)


def _size(source: BinaryIO) -> int:
    position = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(position)
    return size


def _hosts(site: Site) -> set[str]:
    """The old site's host names (www. dropped): only addresses there are its own."""
    hosts = set()
    for url in (site.link, site.base_site_url, site.base_blog_url):
        try:
            host = (urlsplit(url.strip()).hostname or "").lower()
        except ValueError:
            continue
        if host:
            hosts.add(host.removeprefix("www."))
    return hosts


def _category_path(slug: str, parents: dict[str, str]) -> str:
    """'parent/child' for a nested category, as WordPress builds its address."""
    parts, seen = [unquote(slug).lower()], {slug}
    parent = parents.get(slug, "")
    while parent and parent not in seen and len(parts) < 20:
        seen.add(parent)
        parts.insert(0, unquote(parent).lower())
        parent = parents.get(parent, "")
    return "/".join(parts)


def _comment_kind(c: WPComment) -> str:
    """'comment' for what we import; otherwise the kind counted as skipped."""
    if c.type in ("pingback", "trackback"):
        return c.type
    if c.type not in ("", "comment"):
        return f"comment type {c.type}"
    if c.approved not in COMMENT_STATUSES:
        return f"comment ({c.approved or 'no status'})"  # trash, post-trashed
    return "comment"


def _nearest_parent(c, by_wp_id, kept, present) -> int | None:
    """The nearest ancestor that is imported (a trashed parent's reply moves up a level)."""
    seen = {c.wp_id}
    parent = c.parent
    while parent and parent not in seen:
        if parent in kept or parent in present:
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
