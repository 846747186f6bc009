"""Site settings: what admins change at /admin/settings, with defaults from config.

Everything that shows the site's title, tagline, footer disclaimer or navigation, or applies
a comment rule's number, reads it through :func:`current` — never from ``app.config``
directly — so a change made in the browser holds everywhere at once.

Stored as rows of the ``settings`` table (key ``site.<name>``, text value); a missing row
means "the config's default". They are read in one query, once per request. Saving commits
to that table, and the page cache's session listener (blogapp/cache/invalidation.py)
treats every commit there as a content change, so anonymous readers' cached pages are
dropped on the spot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import lru_cache

from flask import current_app, g, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .markup import render_comment
from .models import Setting

PREFIX = "site."
# Each navigation place, and what it shows when the admin has never arranged it.
NAV_PLACES = {"header": "category", "footer": "page"}

DEFAULT_DISCLAIMER = (
    "**Information, not medical advice.** The content of this blog is for general "
    "information only and is not a substitute for professional medical advice, diagnosis "
    "or treatment."
)

# Each number's allowed range; the form and the reader share it.
LIMITS = {
    "comment_max_links": (0, 50),
    "comment_edit_minutes": (0, 1440),
    "comments_close_after_days": (0, 3650),
}


@dataclass(frozen=True)
class NavLayout:
    """One navigation place: items ("category:3", "page:12") in order, and the hidden ones.

    Items not in `order` (a category added later) come after the ordered ones, in their
    usual order, and show unless hidden — so nothing new silently vanishes from the menus.
    """

    order: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()
    arranged: bool = False  # False: never saved, the place shows its default kind only

    def to_json(self) -> str:
        return json.dumps({"order": list(self.order), "hidden": sorted(self.hidden)})

    @classmethod
    def from_json(cls, text: str) -> NavLayout:
        try:
            data = json.loads(text)
            order = tuple(str(item) for item in data.get("order", []))
            hidden = frozenset(str(item) for item in data.get("hidden", []))
        except (ValueError, TypeError, AttributeError):
            return cls()
        return cls(order, hidden, arranged=True)

    def arrange(self, items: list[tuple[str, object]], default_kind: str) -> list[object]:
        """The shown items' objects, in this place's order. items: (key, object) pairs."""
        if not self.arranged:
            return [obj for key, obj in items if key.startswith(default_kind + ":")]
        position = {key: n for n, key in enumerate(self.order)}
        ordered = sorted(
            (pair for pair in items if pair[0] not in self.hidden),
            key=lambda pair: position.get(pair[0], len(position)),
        )
        return [obj for _, obj in ordered]

    def shows(self, key: str, default_kind: str) -> bool:
        if not self.arranged:
            return key.startswith(default_kind + ":")
        return key not in self.hidden


@dataclass(frozen=True)
class SiteSettings:
    title: str
    tagline: str
    disclaimer: str  # comment-style Markdown
    comment_max_links: int
    comment_edit_minutes: int
    comments_close_after_days: int  # 0: never
    disclaimer_html: str = ""  # rendered when saved (never while reading a page)
    logo: str = ""  # an uploaded image's stored name (the header's emblem); "": the built-in
    nav: dict[str, NavLayout] = field(default_factory=dict)

    def layout(self, place: str) -> NavLayout:
        return self.nav.get(place) or NavLayout()


# The settings stored as plain text or numbers, with the config key each defaults from.
SIMPLE = {
    "title": "BLOG_TITLE",
    "tagline": "BLOG_TAGLINE",
    "disclaimer": "BLOG_DISCLAIMER",
    "comment_max_links": "COMMENT_MAX_LINKS",
    "comment_edit_minutes": "COMMENT_EDIT_MINUTES",
    "comments_close_after_days": "COMMENTS_CLOSE_AFTER_DAYS",
    "logo": "BLOG_LOGO",
}


def defaults() -> SiteSettings:
    config = current_app.config
    disclaimer = config.get("BLOG_DISCLAIMER") or DEFAULT_DISCLAIMER
    return SiteSettings(
        title=config["BLOG_TITLE"],
        tagline=config["BLOG_TAGLINE"],
        disclaimer=disclaimer,
        disclaimer_html=_rendered(disclaimer),
        comment_max_links=int(config.get("COMMENT_MAX_LINKS", 2)),
        comment_edit_minutes=int(config.get("COMMENT_EDIT_MINUTES", 15)),
        comments_close_after_days=int(config.get("COMMENTS_CLOSE_AFTER_DAYS", 0)),
        logo=config.get("BLOG_LOGO") or "",
    )


@lru_cache(maxsize=16)
def _rendered(markdown: str) -> str:
    # Only for the config's default text (the same every request): stored values carry
    # their own HTML, rendered when saved.
    return render_comment(markdown)


def current() -> SiteSettings:
    """This request's settings (read once per request; defaults when the database is down)."""
    if not has_app_context():
        raise RuntimeError("site settings need an app context")
    found = g.get("site_settings")
    if found is None:
        found = g.site_settings = _for_this_generation()
    return found


def _for_this_generation() -> SiteSettings:
    """Settings change only by a commit, which moves the page cache's content generation
    on: with the cache on, a process reads them once per generation, not every request.

    Only when the request read the generation before any query (a GET; see
    cache/pages.py), so settings from an older snapshot are never kept under a newer one.
    """
    cache = current_app.extensions.get("page_cache")
    generation = g.get("content_generation")
    if cache is None or not generation:
        return _load()[0]
    held = getattr(cache, "site_settings", None)
    if held is not None and held[0] == generation:
        return held[1]
    settings, loaded = _load()
    if loaded:
        cache.site_settings = (generation, settings)
    return settings


def _load() -> tuple[SiteSettings, bool]:
    """The settings, and whether they came from the database (not defaults for an outage)."""
    base = defaults()
    if g.get("database_down"):
        return base, False
    try:
        rows = db.session.execute(
            select(Setting.key, Setting.value).where(Setting.key.startswith(PREFIX))
        ).all()
    except SQLAlchemyError:
        db.session.rollback()
        return base, False
    stored = {key[len(PREFIX) :]: value for key, value in rows}
    values = {}
    for name in SIMPLE:
        if name not in stored:
            continue
        if name in LIMITS:
            low, high = LIMITS[name]
            try:
                values[name] = min(max(int(stored[name]), low), high)
            except ValueError:
                continue  # a hand-edited row that isn't a number: the default stands
        else:
            values[name] = stored[name]
    if "disclaimer" in values:
        values["disclaimer_html"] = stored.get("disclaimer_html", "")
    nav = {
        place: NavLayout.from_json(stored[f"nav_{place}"])
        for place in NAV_PLACES
        if f"nav_{place}" in stored
    }
    return SiteSettings(**{**_as_dict(base), **values, "nav": nav}), True


def _as_dict(settings: SiteSettings) -> dict:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def save(
    *,
    title: str,
    tagline: str,
    disclaimer: str,
    comment_max_links: int,
    comment_edit_minutes: int,
    comments_close_after_days: int,
    nav: dict[str, NavLayout],
    logo: str | None = None,
    actor=None,
) -> None:
    """Store every setting (one commit: the page cache is invalidated by it)."""
    from . import audit
    from .comments.moderation import clean_name, clean_text  # (it reads these settings)

    title, tagline, disclaimer = clean_name(title), clean_name(tagline), clean_text(disclaimer)
    values = {
        "title": title,
        "tagline": tagline,
        "disclaimer": disclaimer,
        "disclaimer_html": render_comment(disclaimer) if disclaimer else "",
        "comment_max_links": str(comment_max_links),
        "comment_edit_minutes": str(comment_edit_minutes),
        "comments_close_after_days": str(comments_close_after_days),
    }
    if logo is not None:  # None: leave the logo as it is
        values["logo"] = logo
    for place, layout in nav.items():
        values[f"nav_{place}"] = layout.to_json()
    existing = {
        row.key: row
        for row in db.session.scalars(
            select(Setting).where(Setting.key.in_([PREFIX + k for k in values]))
        )
    }
    changed = []
    for name, value in values.items():
        row = existing.get(PREFIX + name) or Setting(key=PREFIX + name)
        if row.value != value:
            changed.append(name)
        row.value = value
        db.session.add(row)
    if changed:
        audit.record(actor, audit.Action.SETTINGS_CHANGE, detail="changed: " + ", ".join(changed))
    db.session.commit()
    g.pop("site_settings", None)  # this request, too, sees what was just saved
