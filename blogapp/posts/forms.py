"""The post form: what an author types, checked field by field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ..inputs import within_dates
from ..models import PostKind
from ..uploads import is_stored_name


class PostForm(FlaskForm):
    kind = RadioField(
        "Type",
        choices=[SelectChoice(PostKind.POST, "Post"), SelectChoice(PostKind.PAGE, "Page")],
        default=PostKind.POST,
    )
    title = StringField(
        "Title", validators=[DataRequired("Give the post a title."), Length(max=200)]
    )
    slug = StringField(
        "Slug",
        validators=[
            Optional(),
            Length(max=120),
            Regexp(r"^[A-Za-z0-9-]+$", message="Use only letters, digits and hyphens."),
        ],
    )
    body = TextAreaField(
        "Body", validators=[DataRequired("Write the post's text."), Length(max=200_000)]
    )
    excerpt = TextAreaField("Excerpt", validators=[Optional(), Length(max=1000)])
    category = SelectField("Category", choices=[], validate_choice=True)
    tags = StringField("Tags", validators=[Optional(), Length(max=500)])
    cover = FileField("Cover image")
    # The stored name of a cover already uploaded while the rest of the form is being fixed.
    cover_image = HiddenField()
    remove_cover = BooleanField("Remove the cover image")
    cover_alt = StringField("Cover image description (alt text)", validators=[Length(max=300)])
    # An image for inside the text (issue 17): stored like a cover and listed on /media; its
    # Markdown goes in at the cursor (static/js/media.js) or, without JavaScript, is shown.
    inline_image = FileField("Image to insert")
    inline_alt = StringField("Image description (alt text)", validators=[Length(max=1200)])
    upload_image = SubmitField("Upload image")
    change_note = StringField("Change note", validators=[Optional(), Length(max=500)])
    note_public = BooleanField("Show this note to readers under “What changed”")
    fix = BooleanField("Non-clinical fix (typo, formatting): publish without a new review")
    publish_at = DateTimeLocalField(
        "Publish date and time",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional(), within_dates],
    )
    save_draft = SubmitField("Save draft")
    submit_review = SubmitField("Submit for review")
    preview = SubmitField("Preview")
    schedule = SubmitField("Schedule")
    publish = SubmitField("Publish")

    def set_categories(self, categories) -> None:
        self.category.choices = [SelectChoice("", "No category")] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]

    def validate_cover_image(self, field) -> None:
        if field.data and not is_stored_name(field.data):
            field.data = ""
            raise ValidationError("Choose the cover image again.")

    @property
    def action(self) -> str:
        """Which button was pressed: preview, submit, schedule, publish or draft."""
        if self.submit_review.data:
            return "submit"
        for name in ("preview", "schedule", "publish"):
            if self[name].data:
                return name
        return "draft"

    def tag_names(self) -> list[str]:
        return [name for name in (self.tags.data or "").split(",") if name.strip()]
