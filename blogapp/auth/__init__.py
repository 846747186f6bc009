from flask import Blueprint

from ..extensions import login_manager

bp = Blueprint("auth", __name__)

# Where @login_required and permissions.role_required send anonymous visitors.
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

from . import security_views, views  # noqa: E402,F401  (routes attach themselves to bp)
