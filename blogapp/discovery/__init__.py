"""Being found: Atom feeds, sitemap and robots.txt, full-text search, page metadata."""

from flask import Blueprint

bp = Blueprint("discovery", __name__)

from . import views  # noqa: E402,F401  (routes attach themselves to bp)
