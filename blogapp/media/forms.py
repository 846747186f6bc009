"""The media library's forms: upload with alt text; delete, saying so when it is in use."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from .services import ALT_MAX


class ImageForm(FlaskForm):
    image = FileField("Image")
    alt = StringField("Image description (alt text)", validators=[Length(max=ALT_MAX * 4)])


class DeleteImageForm(FlaskForm):
    in_use_ok = BooleanField("Delete it anyway; those posts will show no image there")
