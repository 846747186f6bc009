"""The blog as the benchmark serves it: create_app() configured from the environment.

It also answers /bench/from-memory/<home|post>: the home page and the big post rendered by
the blog's own templates (and request handling) from objects loaded once per worker, so
no query runs. That is the most any work on queries could reach for those pages; the
benchmark prints it beside the real pages.
"""

import gc
import os

from flask import abort, g, render_template
from werkzeug.datastructures import MultiDict

from blogapp import create_app
from blogapp.extensions import db
from blogapp.posts import services as post_services
from blogapp.posts.post_page import post_page_context
from blogapp.templating import site_nav

app = create_app(
    {
        "PAGE_CACHE_GENERATION_FILE": os.environ["BENCH_GENERATION_FILE"],
        "RATELIMIT_STORAGE_URI": "memory://",
    }
)
if os.environ.get("GC_FREEZE", "false").lower() == "true":
    gc.freeze()  # as wsgi.py does with GC_FREEZE=true
BIG_POST = "empathy-in-action-300-comments"  # as tests/bench/run.py fills it
_loaded: dict = {}


def _load(page: str) -> tuple[str, dict]:
    """The page's template and context, as its view builds them (first request only)."""
    if page == "home":
        listed = post_services.listed(post_services.visible_posts())
        pagination = post_services.paginate(listed, 1, 10)
        return "posts/index.html", {"pagination": pagination, "posts": pagination.items}
    post = post_services.get_visible_post(BIG_POST)
    return "posts/detail.html", post_page_context(post, MultiDict())


@app.get("/bench/from-memory/<which>")
def from_memory(which: str):
    if which not in ("home", "post"):
        abort(404)
    if which not in _loaded:
        _loaded[which] = _load(which)
        _loaded["nav"] = site_nav()
        db.session.expunge_all()  # kept as loaded: nothing refreshes them from the database
    g.site_nav = _loaded["nav"]
    template, context = _loaded[which]
    return render_template(template, **context)
