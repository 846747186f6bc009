"""Queries and work on posts that views share: what is visible, archives, neighbours."""

from __future__ import annotations

import calendar
import json
import operator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort
from sqlalchemy import Select, and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer, raiseload

from .. import database
from ..extensions import db
from ..markup import render_post, slugify
from ..models import (
    Category,
    Post,
    PostKind,
    PostStatus,
    SlugRedirect,
    Tag,
    User,
    post_tags,
    utcnow,
)


def visible_posts(kind: str = PostKind.POST, now=None) -> Select:
    """Published posts, and scheduled ones whose time has come, newest first.

    now: a datetime (the present by default), or a bind parameter in statements built once.
    """
    if now is None:
        now = utcnow()
    return (
        select(Post)
        .where(
            Post.kind == kind,
            Post.status.in_((PostStatus.PUBLISHED, PostStatus.SCHEDULED)),
            Post.published_at <= now,
        )
        .order_by(Post.published_at.desc(), Post.id.desc())
    )


# Lists show a post's title, summary and meta, never its body or tags: leave the big
# columns and the tags query behind (raiseload: a template that reached for one would
# fail in tests, not add queries).
LISTED = (
    *(
        defer(column, raiseload=True)
        for column in (Post.body_md, Post.body_html, Post.body_text, Post.toc_json)
    ),
    raiseload(Post.tags),
)


def listed(query: Select) -> Select:
    """The query as a list page loads it: without the posts' bodies."""
    return query.options(*LISTED)


def paginate(query: Select, page: int, per_page: int):
    """One page of a query; 404 for pages before the first or past the last."""
    return database.paginate(query, page, per_page)


def in_category(category: Category) -> Select:
    return visible_posts().where(Post.category_id == category.id)


def with_tag(tag: Tag) -> Select:
    return visible_posts().where(
        Post.id.in_(select(post_tags.c.post_id).where(post_tags.c.tag_id == tag.id))
    )


def by_author(author: User) -> Select:
    return visible_posts().where(Post.author_id == author.id)


def has_published(author: User) -> bool:
    """True when readers can see at least one of this person's posts."""
    return db.session.scalar(select(by_author(author).exists())) or False


def in_month(year: int, month: int) -> Select:
    if not (1 <= month <= 12 and 1970 <= year <= 9998):
        abort(404)
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return visible_posts().where(Post.published_at >= start, Post.published_at < end)


def month_name(month: int) -> str:
    return calendar.month_name[month]


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    posts: int

    @property
    def name(self) -> str:
        return f"{month_name(self.month)} {self.year}"


def archive_months(limit: int = 12) -> list[Month]:
    """The newest months that have visible posts, with how many: the footer's archive list.

    Months in UTC, as /archive/<yyyy>/<mm> counts them. One grouped query on the listing
    index; pages are cached for readers, and the cache's generation moves with any post.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        key = func.strftime("%Y-%m", Post.published_at)  # stored as UTC text
    else:
        key = func.to_char(func.timezone("UTC", Post.published_at), "YYYY-MM")
    visible = visible_posts().order_by(None)
    rows = db.session.execute(
        visible.with_only_columns(key.label("month"), func.count().label("posts"))
        .group_by(key)
        .order_by(key.desc())
        .limit(limit)
    ).all()
    return [Month(int(r.month[:4]), int(r.month[5:7]), r.posts) for r in rows if r.month]


def get_visible_post(slug: str, kind: str = PostKind.POST) -> Post | None:
    post = db.session.scalar(select(Post).where(Post.slug == slug, Post.kind == kind))
    if post is None or not post.is_visible():
        return None
    return post


def visible_post_or_404(slug: str, kind: str = PostKind.POST) -> Post:
    """The post (or page) readers may see at slug; 404 for a draft, a future one or none."""
    post = get_visible_post(slug, kind)
    if post is None:
        abort(404)
    return post


def redirect_target(old_slug: str) -> Post | None:
    """The post that used to live at old_slug, if it is still visible."""
    redirect = db.session.scalar(select(SlugRedirect).where(SlugRedirect.old_slug == old_slug))
    if redirect is None or not redirect.post.is_visible():
        return None
    return redirect.post


def _neighbour_links():
    """The older and newer visible posts' titles and slugs around one, in one statement
    built once: each side is the nearest post by (published_at, id) in its direction."""
    at, post_id, now = bindparam("published_at"), bindparam("post_id"), bindparam("now")
    links = visible_posts(now=now).limit(1)

    def side(name: str, nearer, order):
        return (
            links.with_only_columns(literal(name).label("side"), Post.title, Post.slug)
            .where(
                or_(
                    nearer(Post.published_at, at),
                    and_(Post.published_at == at, nearer(Post.id, post_id)),
                )
            )
            .order_by(None)
            .order_by(*order)
            .subquery()
        )

    older = side("older", operator.lt, (Post.published_at.desc(), Post.id.desc()))
    newer = side("newer", operator.gt, (Post.published_at.asc(), Post.id.asc()))
    return union_all(select(older), select(newer))


_NEIGHBOURS = _neighbour_links()


def neighbours(post: Post):
    """The previous (older) and next (newer) visible posts, as (side, title, slug) rows."""
    params = {"published_at": post.published_at, "post_id": post.id, "now": utcnow()}
    found = {row.side: row for row in database.rows(_NEIGHBOURS, params)}
    return found.get("older"), found.get("newer")


def sticky_post() -> Post | None:
    """The newest visible sticky post (the home page's lead, when there is one)."""
    return db.session.scalar(listed(visible_posts().where(Post.sticky.is_(True)).limit(1)))


def home_lead(posts: list[Post], page: int) -> tuple[Post | None, list[Post]]:
    """The home page's lead (sticky, else the newest) and the cards under it.

    Only the first page has a lead; a sticky post from further back is shown at the top
    and not again among the cards.
    """
    if page != 1 or not posts:
        return None, posts
    lead = sticky_post() or posts[0]
    return lead, [post for post in posts if post.id != lead.id]


RELATED_LIMIT = 3


def _related_links():
    """Posts nearest to one: a shared category counts 2, each shared tag 1; newest first
    among equals. One statement, built once; only posts sharing something are candidates."""
    post_id, category_id, now = bindparam("post_id"), bindparam("category_id"), bindparam("now")
    its_tags = select(post_tags.c.tag_id).where(post_tags.c.post_id == post_id)
    shared = (
        select(post_tags.c.post_id, func.count().label("tags"))
        .where(post_tags.c.tag_id.in_(its_tags), post_tags.c.post_id != post_id)
        .group_by(post_tags.c.post_id)
        .subquery()
    )
    same_category = case((Post.category_id == category_id, 2), else_=0)
    score = same_category + func.coalesce(shared.c.tags, 0)
    return (
        visible_posts(now=now)
        .order_by(None)
        .outerjoin(shared, shared.c.post_id == Post.id)
        .where(Post.id != post_id, or_(Post.category_id == category_id, shared.c.tags > 0))
        .with_only_columns(
            Post.title, Post.slug, Post.published_at, Post.cover_image, Post.cover_alt
        )
        .order_by(score.desc(), Post.published_at.desc(), Post.id.desc())
        .limit(RELATED_LIMIT)
    )


_RELATED = _related_links()


def related_posts(post: Post) -> list:
    """Up to three posts to read next, as rows (title, slug, published_at, cover_image,
    cover_alt). Computed when the page is rendered: anonymous readers get it inside the
    cached page, which every post, tag or category change invalidates."""
    params = {"post_id": post.id, "category_id": post.category_id or -1, "now": utcnow()}
    return database.rows(_RELATED, params)


def table_of_contents(post: Post) -> list[dict]:
    """The post's headings as a nested list (h3s under their h2), when there are 3 or more."""
    headings = json.loads(post.toc_json or "[]")
    if len(headings) < 3:
        return []
    root: list[dict] = []
    stack: list[dict] = []
    for heading in headings:
        item = {**heading, "children": []}
        while stack and stack[-1]["level"] >= item["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(item)
        stack.append(item)
    return root


def render_content(post: Post) -> None:
    """Render and sanitize the post's source into its stored HTML, contents and summary."""
    for name, value in rendered_columns(
        post.body_md or "", post.body_format or "markdown", post.excerpt or ""
    ).items():
        setattr(post, name, value)


def rendered_columns(source: str, source_format: str, excerpt: str) -> dict:
    """The stored columns made from a post's source (plain values: worker processes of the
    WordPress import call this too)."""
    rendered = render_post(source, source_format, excerpt=excerpt)
    return {
        "body_html": rendered.html,
        "toc_json": json.dumps(rendered.toc),
        "summary": rendered.summary,
        "word_count": rendered.word_count,
        "body_text": rendered.text,  # indexed for search by DB triggers
    }


def unique_slug(title: str, exclude_id: int | None = None) -> str:
    """A slug made from the title, with -2, -3... when taken (old slugs count as taken)."""
    base = slugify(title) or "post"
    slug, n = base, 2
    while _slug_taken(slug, exclude_id):
        slug, n = f"{base}-{n}", n + 1
    return slug


def _slug_taken(slug: str, exclude_id: int | None) -> bool:
    query = select(Post.id).where(Post.slug == slug)
    if exclude_id is not None:
        query = query.where(Post.id != exclude_id)
    if db.session.scalar(query) is not None:
        return True
    redirect = select(SlugRedirect.post_id).where(SlugRedirect.old_slug == slug)
    owner = db.session.scalar(redirect)
    return owner is not None and owner != exclude_id


def tags_from_names(names: list[str]) -> list[Tag]:
    """Tags for the given names, created as needed; blank and repeated names dropped."""
    tags: dict[str, Tag] = {}
    for name in names:
        name = " ".join(name.split())[:80]
        slug = slugify(name)
        if not slug or slug in tags:
            continue
        tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
        if tag is None:
            tag = _insert_tag(name, slug)
        tags[slug] = tag
    return list(tags.values())


def _insert_tag(name: str, slug: str) -> Tag:
    """Create a tag, or take the one another author created with the same slug a moment ago.

    INSERT ... ON CONFLICT DO NOTHING: two authors publishing the same new tag at once both
    succeed instead of one getting a unique-constraint error.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(Tag).values(name=name, slug=slug).on_conflict_do_nothing(index_elements=["slug"])
    )
    return db.session.scalar(select(Tag).where(Tag.slug == slug))
