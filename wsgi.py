"""The production entry point: gunicorn wsgi:app (BLOG_ENV defaults to production here)."""

import gc
import os

from blogapp import create_app

os.environ.setdefault("BLOG_ENV", "production")
app = create_app()
if os.environ.get("GC_FREEZE", "false").lower() == "true":
    # Start-up made hundreds of thousands of long-lived objects (modules, routes, templates,
    # mappers): frozen, the collector stops walking them on every full collection. Opt-in:
    # tests/bench/gc_freeze.py showed no gain on our shared 2-core machine (README, Speed).
    gc.freeze()
