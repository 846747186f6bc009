"""Subscribe and choose: the address, every post or weekly, all categories or some."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..auth import accounts
from ..models import Frequency
from . import services
from .services import Choices

FREQUENCIES = [
    SelectChoice(Frequency.EVERY_POST.value, "Every new post"),
    SelectChoice(Frequency.WEEKLY.value, "A weekly digest"),
]


def _email_rule(form, field):
    try:
        field.data = accounts.normalize_email(field.data or "")
    except accounts.AccountError as error:
        raise ValidationError(str(error)) from None


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        pass  # unknown ids are dropped by the service, not an error


class ChoicesForm(FlaskForm):
    frequency = RadioField(
        "How often",
        choices=FREQUENCIES,
        default=Frequency.EVERY_POST.value,
        validate_choice=True,
    )
    categories = CheckboxList("Categories (none ticked: all of them)", coerce=int, choices=[])

    def set_categories(self, categories) -> None:
        self.categories.choices = [SelectChoice(c.id, c.name) for c in categories]

    def choices(self) -> Choices:
        return Choices(
            frequency=self.frequency.data or Frequency.EVERY_POST.value,
            category_ids=services.category_ids(self.categories.data or []),
        )


class SubscribeForm(ChoicesForm):
    """The public form: no CSRF token (see views.subscribe for why)."""

    class Meta:
        csrf = False

    email = StringField(
        "Email",
        validators=[DataRequired(), Length(max=254), _email_rule],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    submit = SubmitField("Subscribe")
