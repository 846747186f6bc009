"""The member's own account pages (/account): profile, email, password, data, deletion."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from . import views  # noqa: E402,F401  (routes attach themselves to bp)
