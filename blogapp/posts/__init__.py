from flask import Blueprint

bp = Blueprint("posts", __name__)

from . import authoring, review_pages, views  # noqa: E402,F401  (routes attach themselves to bp)
