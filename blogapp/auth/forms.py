"""Forms for signing in, signing up, confirming, resetting and the account pages."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from . import accounts

# Generous caps: rules are checked by accounts.*; these only stop absurd input early.
EMAIL_MAX = 254
PASSWORD_FIELD_MAX = 1024
BIO_MAX = 500
NEW_PASSWORD = {"autocomplete": "new-password"}


def _username_rule(form, field):
    if problem := accounts.username_problem(field.data):
        raise ValidationError(problem)


def _email_rule(form, field):
    try:
        field.data = accounts.normalize_email(field.data or "")
    except accounts.AccountError as error:
        raise ValidationError(str(error)) from None


def _new_password_rule(form, field):
    context = [getattr(form, name).data for name in ("username", "email") if hasattr(form, name)]
    if problem := accounts.password_problem(field.data, *(c or "" for c in context)):
        raise ValidationError(problem)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _new_password(label: str):
    """A password being chosen: the strength rules, and a hint for password managers."""
    return PasswordField(
        label,
        render_kw=NEW_PASSWORD,
        validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX), _new_password_rule],
    )


def _password_again(label: str):
    """The same new password typed again (the form's `password` field)."""
    return PasswordField(
        label,
        render_kw=NEW_PASSWORD,
        validators=[DataRequired(), EqualTo("password", message="The passwords don't match.")],
    )


class LoginForm(FlaskForm):
    login = StringField(
        "Email or username",
        render_kw={"autocomplete": "username"},
        validators=[DataRequired(), Length(max=EMAIL_MAX)],
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX)]
    )
    remember = BooleanField("Remember me")
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    username = StringField(
        "Username", filters=[_strip], validators=[DataRequired(), Length(max=30), _username_rule]
    )
    email = StringField(
        "Email", filters=[_strip], validators=[DataRequired(), Length(max=EMAIL_MAX), _email_rule]
    )
    password = _new_password("Password")
    confirm = _password_again("Confirm password")
    submit = SubmitField("Create account")


class EmailForm(FlaskForm):
    email = StringField(
        "Email", filters=[_strip], validators=[DataRequired(), Length(max=EMAIL_MAX), _email_rule]
    )


class ResetForm(FlaskForm):
    """A new password, typed twice (reset and password change share these fields)."""

    password = _new_password("New password")
    confirm = _password_again("Confirm new password")


def _one_line(value):
    return " ".join(value.split()) if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Display name", filters=[_strip], validators=[Optional(), Length(max=80)]
    )
    # Self-declared (issue 17); the admin-given reviewer credentials are a separate thing.
    credentials = StringField(
        "Credentials", filters=[_one_line], validators=[Optional(), Length(max=100)]
    )
    bio = TextAreaField("Short bio", filters=[_strip], validators=[Optional(), Length(max=BIO_MAX)])
    avatar = FileField("Avatar")
    remove_avatar = BooleanField("Remove my avatar")


class PasswordChangeForm(ResetForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX)]
    )


class EmailChangeForm(FlaskForm):
    email = StringField(
        "New email",
        filters=[_strip],
        validators=[DataRequired(), Length(max=EMAIL_MAX), _email_rule],
    )
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX)]
    )


class DeleteAccountForm(FlaskForm):
    current = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_FIELD_MAX)])
