"""The production entry point: gunicorn wsgi:app (BLOG_ENV defaults to production here)."""

import os

from blogapp import create_app

os.environ.setdefault("BLOG_ENV", "production")
app = create_app()
