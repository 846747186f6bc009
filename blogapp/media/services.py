"""Images inside posts: store one with its alt text, find where each is used, delete one.

Where an image is used is read from the posts' own sources (the stored name appears in
the Markdown that shows it), so there is no usage table to keep in step with edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from .. import uploads
from ..extensions import db
from ..models import MediaImage, Post, User

ALT_MAX = 300
# Every ASCII punctuation character may be backslash-escaped in CommonMark: alt text
# with brackets, asterisks or the like stays the words the author typed.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


class MediaError(ValueError):
    """An image we refuse, or a description it needs; the message is shown to the person."""


@dataclass(frozen=True)
class Use:
    """A post or page that shows an image."""

    title: str
    slug: str
    kind: str
    author_id: int


def clean_alt(alt: str) -> str:
    """One line of alt text, or MediaError saying what it needs."""
    alt = " ".join((alt or "").split())
    if not alt:
        raise MediaError("Describe the image for people who can't see it (alt text).")
    if len(alt) > ALT_MAX:
        raise MediaError(f"Keep the description under {ALT_MAX} characters.")
    return alt


def add_image(owner: User, upload, alt: str, upload_dir: str, max_bytes: int) -> MediaImage:
    """Check the file and alt text, then store it through uploads.py and record it.

    upload: the uploaded file (anything with .filename and .stream), or None.
    """
    if upload is None or not getattr(upload, "filename", ""):
        raise MediaError("Choose an image to upload.")
    alt = clean_alt(alt)
    try:
        stored = uploads.store_image(upload.stream, upload_dir, max_bytes)
    except uploads.UploadError as refusal:
        raise MediaError(str(refusal)) from None
    image = MediaImage(
        owner=owner, name=stored.name, alt=alt, width=stored.width, height=stored.height
    )
    db.session.add(image)
    db.session.commit()
    return image


def markdown_for(alt: str, url: str) -> str:
    """The Markdown that shows an image: ![alt](url), the alt's punctuation escaped."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", alt)
    return f"![{escaped}]({url})"


def library_query(user: User) -> Select:
    """The user's images, newest first (everyone's for editors and admins)."""
    query = select(MediaImage).order_by(MediaImage.created_at.desc(), MediaImage.id.desc())
    if not user.is_editor:
        query = query.where(MediaImage.owner_id == user.id)
    return query


def get_image(image_id: int) -> MediaImage | None:
    return db.session.get(MediaImage, image_id)


def can_manage(user: User, image: MediaImage) -> bool:
    """Its uploader, or an editor or admin (they work on anyone's posts); never a suspended
    account."""
    return not user.suspended and (user.is_editor or image.owner_id == user.id)


def uses(images: list[MediaImage]) -> dict[int, list[Use]]:
    """Per image id, the posts and pages whose source shows it: one query for the lot."""
    if not images:
        return {}
    rows = db.session.execute(
        select(Post.title, Post.slug, Post.kind, Post.author_id, Post.body_md)
        .where(or_(*(Post.body_md.contains(i.name, autoescape=True) for i in images)))
        .order_by(Post.title)
    ).all()
    return {
        image.id: [
            Use(row.title, row.slug, row.kind, row.author_id)
            for row in rows
            if image.name in row.body_md
        ]
        for image in images
    }


def delete(image: MediaImage) -> str:
    """Forget the image; returns its stored name so the caller removes the files."""
    name = image.name
    db.session.delete(image)
    db.session.commit()
    return name
