"""Revisions: every save of a post's text is kept; any two compare side by side; restore.

A post's own columns hold the text readers see. Each save adds a PostRevision when the
title, body or excerpt changed; the newest one is the "working copy" the form edits, which
for a live post in a reviewed category may be newer than the live text (see review.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import Post, PostRevision, User


@dataclass
class Text:
    """The part of a post that revisions keep."""

    title: str
    body: str
    excerpt: str

    @classmethod
    def of(cls, item: Post | PostRevision) -> Text:
        return cls(item.title, item.body_md, item.excerpt)


def latest(post: Post) -> PostRevision | None:
    if post.id is None:
        return None
    return db.session.scalar(
        select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .order_by(PostRevision.number.desc())
        .limit(1)
    )


def get(post: Post, number: int) -> PostRevision | None:
    return db.session.scalar(
        select(PostRevision).where(PostRevision.post_id == post.id, PostRevision.number == number)
    )


def get_by_id(revision_id: int) -> PostRevision | None:
    return db.session.get(PostRevision, revision_id)


def history(post: Post) -> list[PostRevision]:
    """Every revision, newest first (the editor of each joined in)."""
    return list(
        db.session.scalars(
            select(PostRevision)
            .where(PostRevision.post_id == post.id)
            .order_by(PostRevision.number.desc())
        )
    )


def working_copy(post: Post) -> Text:
    """What the form edits: the newest revision, or the post's text when it has none."""
    newest = latest(post)
    return Text.of(newest if newest is not None else post)


def keep(
    post: Post,
    text: Text,
    editor: User,
    note: str = "",
    public: bool = False,
    kind: str = "edit",
    restored_from: int | None = None,
) -> tuple[PostRevision, bool]:
    """The revision holding this text: a new one when it changed (True), else the newest."""
    newest = latest(post)
    text = Text(text.title.strip(), text.body, text.excerpt.strip())
    if newest is not None and Text.of(newest) == text and kind != "restore":
        return newest, False
    number = (
        db.session.scalar(
            select(func.coalesce(func.max(PostRevision.number), 0)).where(
                PostRevision.post_id == post.id
            )
        )
        if post.id is not None
        else 0
    )
    revision = PostRevision(
        post=post,
        number=number + 1,
        title=text.title,
        body_md=text.body,
        excerpt=text.excerpt,
        editor=editor,
        change_note=" ".join(note.split())[:500],
        note_public=public and bool(note.strip()),
        kind=kind,
        restored_from=restored_from,
    )
    db.session.add(revision)
    db.session.flush()
    return revision, True


def public_notes(post: Post, limit: int = 5) -> list[PostRevision]:
    """Change notes meant for readers, of versions that have gone live, newest first."""
    live = select(PostRevision.number).where(PostRevision.id == post.live_revision_id)
    return list(
        db.session.scalars(
            select(PostRevision)
            .where(
                PostRevision.post_id == post.id,
                PostRevision.note_public.is_(True),
                PostRevision.number <= live.scalar_subquery(),
                PostRevision.created_at >= post.published_at,
            )
            .order_by(PostRevision.number.desc())
            .limit(limit)
        )
    )


@dataclass
class Row:
    """One line of a side-by-side diff: what was on the left, what is on the right."""

    change: str  # "same", "removed", "added", "changed"
    old_number: int | None
    old: str
    new_number: int | None
    new: str


def diff(old: Text, new: Text) -> dict[str, list[Row]]:
    """Title, excerpt and body compared line by line, for a table readable without JS."""
    return {
        "Title": _rows(old.title, new.title),
        "Excerpt": _rows(old.excerpt, new.excerpt),
        "Body": _rows(old.body, new.body),
    }


def _rows(old: str, new: str) -> list[Row]:
    left, right = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [
                Row("same", i + 1, left[i], j + 1, right[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            has_old, has_new = i < i2, j < j2
            change = "changed" if has_old and has_new else ("removed" if has_old else "added")
            rows.append(
                Row(
                    change,
                    i + 1 if has_old else None,
                    left[i] if has_old else "",
                    j + 1 if has_new else None,
                    right[j] if has_new else "",
                )
            )
    return rows
