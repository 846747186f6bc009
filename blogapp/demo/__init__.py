"""The demo content: the co-op's first article, its categories and a demo author."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..markup import slugify
from ..models import Category, Post, PostKind, PostStatus, Role, User
from ..posts import services as post_services

CATEGORIES = ["News", "Advice", "Updates"]
DEMO_AUTHOR = {"username": "alliedup", "email": "editor@alliedup.example", "name": "AlliedUP Co-op"}
ARTICLE = Path(__file__).with_name("empathy-in-action.md")
# Standalone pages, linked from the footer.
PAGES = [Path(__file__).with_name("about.md"), Path(__file__).with_name("privacy.md")]
# A fixed date keeps the demo stable across runs and databases.
PUBLISHED_AT = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)


def read_article(path: Path = ARTICLE) -> tuple[dict[str, str], str]:
    """Front matter (simple 'key: value' lines between ---) and the Markdown body."""
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = {}
    for line in front.strip().splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip().strip('"')
    return meta, body.lstrip("\n")


def ensure_categories() -> dict[str, Category]:
    found = {}
    for name in CATEGORIES:
        slug = slugify(name)
        category = db.session.scalar(select(Category).where(Category.slug == slug))
        if category is None:
            # Advice is clinical: its posts need a reviewer's approval to go out.
            category = Category(name=name, slug=slug, needs_review=slug == "advice")
            db.session.add(category)
        found[name] = category
    return found


def ensure_demo_author() -> User:
    user = db.session.scalar(select(User).where(User.username_key == DEMO_AUTHOR["username"]))
    if user is None:
        user = User(
            username=DEMO_AUTHOR["username"],
            username_key=DEMO_AUTHOR["username"],
            email=DEMO_AUTHOR["email"],
            email_key=DEMO_AUTHOR["email"],
            display_name=DEMO_AUTHOR["name"],
            role=Role.AUTHOR,
            confirmed_at=PUBLISHED_AT,
            password_hash=None,  # no usable password: an admin can reset it
        )
        db.session.add(user)
    return user


def seed_demo() -> list[str]:
    """Create what is missing, change nothing that exists; returns what was created."""
    created = []
    before = {c.slug for c in db.session.scalars(select(Category))}
    categories = ensure_categories()
    created += [name for name in CATEGORIES if slugify(name) not in before]
    author = ensure_demo_author()
    meta, body = read_article()
    slug = slugify(meta["title"])
    if db.session.scalar(select(Post.id).where(Post.slug == slug)) is None:
        post = Post(
            title=meta["title"],
            slug=slug,
            body_md=body,
            status=PostStatus.PUBLISHED,
            published_at=PUBLISHED_AT,
            author=author,
            category=categories.get(meta.get("category", "")),
            tags=post_services.tags_from_names(meta.get("tags", "").split(",")),
        )
        post_services.render_content(post)
        db.session.add(post)
        created.append(f"post {slug}")
    created += ensure_pages(author)
    db.session.commit()
    return created


def ensure_pages(author: User) -> list[str]:
    """The About and Privacy pages (kind=page), when missing."""
    created = []
    for path in PAGES:
        meta, body = read_article(path)
        slug = slugify(meta["title"])
        if db.session.scalar(select(Post.id).where(Post.slug == slug)) is not None:
            continue
        page = Post(
            kind=PostKind.PAGE,
            title=meta["title"],
            slug=slug,
            body_md=body,
            status=PostStatus.PUBLISHED,
            published_at=PUBLISHED_AT,
            author=author,
        )
        post_services.render_content(page)
        db.session.add(page)
        created.append(f"page {slug}")
    return created
