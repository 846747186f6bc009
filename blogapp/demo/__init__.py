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
# The account a newcomer signs in with: seed-demo prints a one-time link to set its password.
DEMO_ADMIN = {"username": "admin", "email": "admin@alliedup.example", "name": "Site admin"}
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


def ensure_demo_user(who: dict, role: str) -> User:
    user = db.session.scalar(select(User).where(User.username_key == who["username"]))
    if user is None:
        user = User(
            username=who["username"],
            username_key=who["username"],
            email=who["email"],
            email_key=who["email"],
            display_name=who["name"],
            role=role,
            confirmed_at=PUBLISHED_AT,
            password_hash=None,  # no usable password until one is set through a reset link
        )
        db.session.add(user)
    return user


def ensure_demo_author() -> User:
    return ensure_demo_user(DEMO_AUTHOR, Role.AUTHOR)


def demo_admin() -> User | None:
    return db.session.scalar(select(User).where(User.username_key == DEMO_ADMIN["username"]))


def seed_demo() -> list[str]:
    """Create what is missing, change nothing that exists; returns what was created."""
    created = []
    before = {c.slug for c in db.session.scalars(select(Category))}
    categories = ensure_categories()
    created += [name for name in CATEGORIES if slugify(name) not in before]
    author = ensure_demo_author()
    if demo_admin() is None:
        ensure_demo_user(DEMO_ADMIN, Role.ADMIN)
        created.append(f"demo admin {DEMO_ADMIN['username']}")
    meta, body = read_article()
    if _missing(meta):
        category = categories.get(meta.get("category", ""))
        tags = post_services.tags_from_names(meta.get("tags", "").split(","))
        created.append("post " + _publish(meta, body, author, category=category, tags=tags))
    created += ensure_pages(author)
    db.session.commit()
    return created


def ensure_pages(author: User) -> list[str]:
    """The About and Privacy pages (kind=page), when missing."""
    created = []
    for path in PAGES:
        meta, body = read_article(path)
        if _missing(meta):
            created.append("page " + _publish(meta, body, author, kind=PostKind.PAGE))
    return created


def _missing(meta: dict[str, str]) -> bool:
    slug = slugify(meta["title"])
    return db.session.scalar(select(Post.id).where(Post.slug == slug)) is None


def _publish(meta: dict[str, str], body: str, author: User, **fields) -> str:
    """The article, rendered and published on the demo date; returns its slug."""
    post = Post(
        title=meta["title"],
        slug=slugify(meta["title"]),
        body_md=body,
        status=PostStatus.PUBLISHED,
        published_at=PUBLISHED_AT,
        author=author,
        **fields,
    )
    post_services.render_content(post)
    db.session.add(post)
    return post.slug


def sign_in_instructions() -> str:
    """How to sign in as the demo admin: a one-time link to set its password, while it has none.

    Links are built from SITE_URL (in development http://127.0.0.1:5000, where flask run is).
    """
    from ..auth.services import reset_token
    from ..links import absolute_url_for

    admin = demo_admin()
    sign_in = absolute_url_for("auth.login")
    if admin is None or admin.password_hash or not admin.is_admin or admin.suspended:
        return (
            f"Sign in at {sign_in} (the demo admin is {DEMO_ADMIN['username']!r}; "
            "“Forgot your password?” there sends a reset link)."
        )
    link = absolute_url_for("auth.reset", token=reset_token(admin))
    return (
        f"\nTo sign in as the demo admin ({admin.username}), start the server, then open this\n"
        f"one-time link within an hour and choose a password:\n\n    {link}\n\n"
        f"Then sign in at {sign_in} as {admin.username}. "
        "(Run seed-demo again for a fresh link.)"
    )
