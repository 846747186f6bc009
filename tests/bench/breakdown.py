"""Where the uncached post page's time goes: `.venv/bin/python tests/bench/breakdown.py`.

Fills a temporary SQLite database as tests/bench/run.py does, then times in one process
(no gunicorn, no load tool) each step the post view takes for the 300-comment post, the
whole request, the same page rendered from memory (no queries) and bare Flask returning the
page's bytes, and counts the escape calls the page makes: the benchmark's uncached rows,
taken apart.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.run import BIG_POST, blog_env, fill  # noqa: E402


def timed(fn, runs: int = 200) -> float:
    """Mean milliseconds per call, after a warm-up."""
    for _ in range(20):
        fn()
    started = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="blog-breakdown-"))
    url = f"sqlite:///{work / 'blog.sqlite3'}"
    fill(url)
    os.environ.update(blog_env(url, work / "generation", cache=False))
    from flask import g
    from flask_login import current_user
    from werkzeug.datastructures import MultiDict

    from blogapp.comments import thread as comments
    from blogapp.comments.forms import CommentForm
    from blogapp.extensions import db
    from blogapp.posts import services as posts
    from blogapp.templating import site_nav
    from tests.bench.bench_wsgi import app

    page = f"/posts/{BIG_POST}"
    page_bytes = []  # filled by the first request; the route must exist before it
    app.add_url_rule("/bench/bare", "bench_bare", lambda: page_bytes[0])
    client = app.test_client()
    page_bytes.append(client.get(page).data)
    rows = []
    with app.test_request_context(page):
        post = posts.get_visible_post(BIG_POST)
        steps = {
            "the post (with author, category, tags)": lambda: (
                db.session.expunge_all(),
                posts.get_visible_post(BIG_POST).tags,
            ),
            "older and newer links": lambda: posts.neighbours(post),
            "thread statement and its nodes": lambda: comments.load_thread(post, 1, False, []),
            "whole thread context (with form)": lambda: comments.thread_context(post, MultiDict()),
            "comment form alone": lambda: CommentForm.for_user(current_user),
            "header categories and footer pages": lambda: (g.pop("site_nav", None), site_nav()),
        }
        rows += [(label, timed(step)) for label, step in steps.items()]
    rows += [
        ("whole request, post page", timed(lambda: client.get(page), 100)),
        (
            "same page from memory (no queries)",
            timed(lambda: client.get("/bench/from-memory/post"), 100),
        ),
        ("bare Flask, the same bytes from memory", timed(lambda: client.get("/bench/bare"))),
    ]
    # Jinja's autoescape calls jinja2.runtime.escape once per {{ }}: count them on one page,
    # in templates compiled afresh so they pick up the counting function.
    import jinja2.runtime

    calls = [0]
    escape = jinja2.runtime.escape

    def counted(value):
        calls[0] += 1
        return escape(value)

    jinja2.runtime.escape = counted
    app.jinja_env.cache.clear()
    client.get(page)
    print(f"\nThe uncached post page ({BIG_POST}, 100 comments shown), in one process on SQLite:")
    for label, ms in rows:
        print(f"  {label:40} {ms:7.2f} ms")
    print(f"  {'escape calls on one page':40} {calls[0]:7d}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
