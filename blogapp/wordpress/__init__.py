"""Moving a WordPress blog in: the WXR import and the old permalinks that keep working."""

from flask import Blueprint

bp = Blueprint("wordpress", __name__)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
