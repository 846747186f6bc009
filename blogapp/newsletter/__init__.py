"""The newsletter: subscriptions to new posts (every post or weekly), by email."""

from flask import Blueprint

bp = Blueprint("newsletter", __name__)

from . import views  # noqa: E402,F401
