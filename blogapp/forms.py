"""Forms every part of the site shares."""

from flask_wtf import FlaskForm


class ButtonForm(FlaskForm):
    """A bare button with its CSRF token: confirm, resend, sign out, moderate, unpublish."""
