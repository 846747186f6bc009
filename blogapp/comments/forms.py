"""Comment forms: new comment or reply, edit, and the moderation queue's forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..auth.accounts import AccountError, normalize_email
from ..guest_token import GuestFormCSRF
from ..inputs import optional_int
from . import moderation
from .services import Draft

BODY_MAX = 5000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _body_field() -> TextAreaField:
    """A comment's text, new or edited: the same label and limits."""
    return TextAreaField(
        "Comment",
        validators=[
            DataRequired("Write your comment."),
            Length(max=BODY_MAX, message=f"Keep comments under {BODY_MAX} characters."),
        ],
    )


class CommentForm(FlaskForm):
    class Meta:
        csrf_class = GuestFormCSRF  # guests' pages carry the shared guest token

    body = _body_field()
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[DataRequired("Give a name to show with your comment."), Length(max=80)],
    )
    email = StringField(
        "Email",
        filters=[_strip],
        validators=[DataRequired("Give your email address; it is never shown."), Length(max=254)],
    )
    website = StringField(
        "Website (optional)", filters=[_strip], validators=[Optional(), Length(max=300)]
    )
    # A field people never see; bots fill it in.
    homepage = StringField("Leave this field empty", validators=[Optional()])
    stamp = HiddenField()
    parent_id = HiddenField()

    @classmethod
    def for_user(cls, user, **kwargs) -> CommentForm:
        """Members give only the comment; guests also name, email and optional website."""
        form = cls(**kwargs)
        if not form.stamp.data:
            form.stamp.data = moderation.form_stamp()
        if user is not None and user.is_authenticated:
            del form.name
            del form.email
            del form.website
        return form

    @property
    def token(self) -> str | None:
        """The form token its page carries (None with CSRF off)."""
        field = self._fields.get("csrf_token")
        return field.current_token if field is not None else None

    @property
    def for_guest(self) -> bool:
        return "email" in self._fields

    def validate_name(self, field):
        if not moderation.clean_name(field.data):
            raise ValidationError("Give a name to show with your comment.")

    def validate_email(self, field):
        try:
            field.data = normalize_email(field.data)
        except AccountError:
            raise ValidationError("Enter an email address like name@example.org.") from None

    def validate_website(self, field):
        try:
            parts = urlsplit(field.data)
        except ValueError:  # "http://[::1": an unclosed IPv6 host
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("Enter a web address starting with https:// (or leave it empty).")

    def validate_parent_id(self, field):
        if field.data and optional_int(field.data) is None:
            raise ValidationError("That reply target is not valid.")

    def to_draft(self) -> Draft:
        return Draft(
            body=self.body.data,
            name=self.name.data if self.for_guest else "",
            email=self.email.data if self.for_guest else "",
            website=(self.website.data or "") if self.for_guest else "",
            parent_id=optional_int(self.parent_id.data),
            honeypot=self.homepage.data or "",
            stamp=self.stamp.data,
        )


class EditCommentForm(FlaskForm):
    body = _body_field()


class WordListForm(FlaskForm):
    words = TextAreaField(
        "Words and phrases to hold for review (one a line)",
        validators=[Length(max=50_000)],
    )
