"""Forms for two-factor sign-in, passkeys and the sessions page."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .forms import PASSWORD_FIELD_MAX
from .passkeys import CREDENTIAL_JSON_MAX, NAME_MAX

ONE_TIME_CODE = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}


class CodeForm(FlaskForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField(
        "Authentication code",
        render_kw=ONE_TIME_CODE,
        validators=[DataRequired(), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        "Code from your app",
        render_kw={**ONE_TIME_CODE, "inputmode": "numeric"},
        validators=[DataRequired(), Length(max=40)],
    )


class PasswordConfirmForm(FlaskForm):
    """Turning a protection off, or new recovery codes, asks for the password again."""

    current = PasswordField(
        "Your password", validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX)]
    )


class PasskeyAddForm(FlaskForm):
    name = StringField(
        "Passkey name",
        render_kw={"placeholder": "e.g. Work laptop"},
        validators=[Length(max=NAME_MAX)],
    )
    credential = HiddenField(validators=[DataRequired(), Length(max=CREDENTIAL_JSON_MAX)])


class PasskeySignInForm(FlaskForm):
    credential = HiddenField(validators=[DataRequired(), Length(max=CREDENTIAL_JSON_MAX)])
