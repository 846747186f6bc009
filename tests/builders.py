"""Builders that make test data through the real services and models."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from werkzeug.security import generate_password_hash

from blogapp.comments.services import save_comment
from blogapp.extensions import db
from blogapp.markup import render_comment
from blogapp.models import (
    Category,
    Comment,
    CommentStatus,
    Post,
    PostStatus,
    Role,
    User,
    utcnow,
)
from blogapp.posts import services as post_services

PASSWORD = "correct horse battery staple"
# The slow hash is the point in production and a waste in every test that signs in
# (scrypt costs ~100 ms a check here): the builders' users get a one-round PBKDF2 hash,
# which the same check_password reads. Passwords set through the app still get scrypt.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
_serial = count(1)


def make_user(
    username: str | None = None,
    role: str = Role.MEMBER,
    confirmed: bool = True,
    suspended: bool = False,
    email: str | None = None,
    **fields,
) -> User:
    n = next(_serial)
    if fields.get("bio"):  # as the profile form saves it
        fields.setdefault("bio_html", render_comment(fields["bio"]))
    username = username or f"user{n}"
    email = email or f"{username}@example.org"
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
        role=Role(role),
        password_hash=PASSWORD_HASH,
        confirmed_at=utcnow() if confirmed else None,
        suspended=suspended,
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_category(name: str = "News") -> Category:
    category = Category(name=name, slug=post_services.slugify(name))
    db.session.add(category)
    db.session.commit()
    return category


def make_post(
    author: User | None = None,
    title: str | None = None,
    body: str = "Some words about care.",
    status: str = PostStatus.PUBLISHED,
    published_ago: timedelta | None = timedelta(hours=1),
    tags: list[str] | None = None,
    **fields,
) -> Post:
    author = author or make_user(role=Role.AUTHOR)
    title = title or f"Post number {next(_serial)}"
    published_at = None
    if published_ago is not None and status != PostStatus.DRAFT:
        published_at = utcnow() - published_ago
    post = Post(
        title=title,
        slug=post_services.unique_slug(title),
        body_md=body,
        status=status,
        published_at=published_at,
        author=author,
        tags=post_services.tags_from_names(tags or []),
        **fields,
    )
    post_services.render_content(post)
    db.session.add(post)
    db.session.commit()
    return post


def make_comment(
    post: Post,
    body: str = "Thank you for this.",
    status: str = CommentStatus.APPROVED,
    parent: Comment | None = None,
    commit: bool = True,
    **fields,
) -> Comment:
    """A stored comment, saved by the service the app saves comments with (any status).

    The moderation rules are the services' own tests' business; here a test says what
    state it needs, and save_comment renders, threads and counts it as for any comment.
    A guest's comment is Ana's unless said otherwise; a member's (user or user_id) has no
    guest name or email, as add_comment stores it.
    """
    if fields.get("user") is None and fields.get("user_id") is None:
        fields.setdefault("guest_name", "Ana")
        fields.setdefault("guest_email", "ana@example.org")
    comment = save_comment(post, body, status, parent, **fields)
    if commit:
        db.session.commit()
    return comment
