"""The media library: images authors upload for use inside posts (issue 17)."""

from flask import Blueprint

bp = Blueprint("media", __name__)

from . import views  # noqa: E402,F401  (routes attach themselves to bp)
