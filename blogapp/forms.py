"""Forms every part of the site shares."""

from flask import request
from flask_wtf import FlaskForm


def form_status() -> int:
    """A form page's status: 400 when a POST didn't pass its checks, 200 when just shown."""
    return 400 if request.method == "POST" else 200


class ButtonForm(FlaskForm):
    """A bare button with its CSRF token: confirm, resend, sign out, moderate, unpublish."""
