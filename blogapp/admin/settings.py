"""Admin: site settings. Title, tagline, footer disclaimer, navigation, comment rules' numbers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from .. import errors, site_settings
from ..extensions import db
from ..inputs import optional_int
from ..models import MediaImage
from ..permissions import admin_required
from ..templating import site_nav
from . import bp

PLACES = {"header": "Header", "footer": "Footer"}
MAX_POSITION = 999


def _number(label: str, name: str, help_text: str) -> IntegerField:
    low, high = site_settings.LIMITS[name]
    return IntegerField(
        label,
        validators=[
            InputRequired(f"Give a whole number from {low} to {high}."),
            NumberRange(low, high, f"Give a whole number from {low} to {high}."),
        ],
        description=help_text,
    )


class SettingsForm(FlaskForm):
    title = StringField(
        "Site title", validators=[DataRequired("Give the site a title."), Length(max=100)]
    )
    tagline = StringField("Tagline", validators=[Length(max=200)])
    disclaimer = TextAreaField(
        "Footer disclaimer",
        validators=[Length(max=2000)],
        description="Shown at the foot of every page. Simple formatting (**bold**, links).",
    )
    logo = SelectField(
        "Logo",
        description="The emblem beside the site title in the header. Upload images at Media.",
        validate_choice=True,
        default="",
    )
    comment_max_links = _number(
        "Links allowed in a comment",
        "comment_max_links",
        "A comment with more links than this waits for a moderator.",
    )
    comment_edit_minutes = _number(
        "Minutes to edit a comment",
        "comment_edit_minutes",
        "How long members may edit their own comment; 0 turns editing off.",
    )
    comments_close_after_days = _number(
        "Days until comments close",
        "comments_close_after_days",
        "Comments close this many days after a post is published; 0 keeps them open.",
    )


LOGO_CHOICES_SHOWN = 200
BUILT_IN_LOGO = ("", "The co-op's emblem (built in)")


def logo_choices() -> list[tuple[str, str]]:
    """The built-in emblem, then the media library's images, newest first (only these can be
    chosen: the form refuses any other value)."""
    images = db.session.execute(
        select(MediaImage.name, MediaImage.alt, MediaImage.width, MediaImage.height)
        .order_by(MediaImage.created_at.desc(), MediaImage.id.desc())
        .limit(LOGO_CHOICES_SHOWN)
    ).all()
    return [BUILT_IN_LOGO] + [
        (image.name, f"{image.alt or image.name} ({image.width}×{image.height})")
        for image in images
    ]


def settings_form(**kwargs) -> SettingsForm:
    form = SettingsForm(**kwargs)
    form.logo.choices = logo_choices()
    current = site_settings.current().logo
    if current and current not in dict(form.logo.choices):
        # e.g. BLOG_LOGO from the configuration: saving the other settings keeps it.
        form.logo.choices.append((current, "The current logo"))
    return form


@dataclass
class NavRow:
    key: str
    label: str
    kind: str
    shown: bool
    position: str
    error: str = ""


def nav_rows(place: str, formdata=None) -> list[NavRow]:
    """Every category and page, as this place's form rows: shown or not, and its position."""
    settings = site_settings.current()
    layout = settings.layout(place)
    kind = site_settings.NAV_PLACES[place]
    links = site_nav()["all_links"]
    arranged = {
        link.key: n
        for n, link in enumerate(
            layout.arrange([(link.key, link) for link in links], kind), start=1
        )
    }
    rows = []
    for link in sorted(links, key=lambda link: arranged.get(link.key, len(links) + 1)):
        shown = layout.shows(link.key, kind)
        position = str(arranged.get(link.key, ""))
        if formdata is not None:
            shown = link.key in formdata.getlist(f"{place}_show")
            position = (formdata.get(f"{place}_position_{link.key}") or "").strip()[:10]
        row = NavRow(link.key, link.label, link.key.partition(":")[0], shown, position)
        rows.append(row)
    return rows


def read_layout(rows: list[NavRow]) -> site_settings.NavLayout | None:
    """The layout the rows ask for, or None (with each bad row's error set)."""
    ordered = []
    for n, row in enumerate(rows):
        if not row.position:
            ordered.append((MAX_POSITION + 1, n, row.key))
            continue
        position = optional_int(row.position)
        if position is None or not 1 <= position <= MAX_POSITION:
            row.error = f"Give a position from 1 to {MAX_POSITION}, or leave it empty."
            continue
        ordered.append((position, n, row.key))
    if any(row.error for row in rows):
        return None
    return site_settings.NavLayout(
        order=tuple(key for _, _, key in sorted(ordered)),
        hidden=frozenset(row.key for row in rows if not row.shown),
        arranged=True,
    )


def _initial_form() -> SettingsForm:
    settings = site_settings.current()
    return settings_form(
        formdata=None,
        data={
            "logo": settings.logo,
            "title": settings.title,
            "tagline": settings.tagline,
            "disclaimer": settings.disclaimer,
            "comment_max_links": settings.comment_max_links,
            "comment_edit_minutes": settings.comment_edit_minutes,
            "comments_close_after_days": settings.comments_close_after_days,
        },
    )


def _page(form: SettingsForm, nav: dict[str, list[NavRow]], status: int = 200, notice: str = ""):
    html = render_template("admin/settings.html", form=form, nav=nav, places=PLACES, notice=notice)
    return html, status


@bp.get("/settings")
@admin_required
def settings():
    return _page(_initial_form(), {place: nav_rows(place) for place in PLACES})


@bp.post("/settings")
@admin_required
def save_settings():
    form = settings_form()
    nav = {place: nav_rows(place, request.form) for place in PLACES}
    layouts = {place: read_layout(rows) for place, rows in nav.items()}
    valid = form.validate()
    if not valid or None in layouts.values():
        return _page(form, nav, 400, "The settings weren't saved: check the fields marked below.")
    site_settings.save(
        actor=current_user,
        title=form.title.data,
        tagline=form.tagline.data or "",
        disclaimer=(form.disclaimer.data or "").strip(),
        comment_max_links=form.comment_max_links.data,
        comment_edit_minutes=form.comment_edit_minutes.data,
        comments_close_after_days=form.comments_close_after_days.data,
        nav=layouts,
        # A form sent without the field (an older page, a script) leaves the logo alone.
        logo=form.logo.data if "logo" in request.form else None,
    )
    flash("Settings saved. Every page shows them now.")
    return redirect(url_for("admin.settings"))


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """An expired form on the settings page comes back as typed; elsewhere the error page."""
    if request.endpoint != "admin.save_settings":
        return errors.csrf_failed(error)  # the other admin forms: errors.py
    form = settings_form(meta={"csrf": False})
    form.validate()
    nav = {place: nav_rows(place, request.form) for place in PLACES}
    return _page(
        form,
        nav,
        400,
        "Your form had expired, so nothing was saved. Check it and press Save settings again.",
    )
