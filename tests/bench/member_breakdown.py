"""Where a signed-in member's request goes: `.venv/bin/python tests/bench/member_breakdown.py`.

Fills a temporary SQLite database as tests/bench/run.py does, starts the blog in this
process with the page cache on (shared pages for members), and times, over a few hundred
requests by a signed-in member to the home page and to the 300-comment post, each
request hook, the session cookie's opening and saving, loading the user (the session
record check), filling the shared page's parts, and the whole request; bare Flask answering
the same bytes is printed beside them. The per-request work outside the page, taken apart.
"""

from __future__ import annotations

import collections
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.run import BIG_POST, blog_env, fill, member_headers  # noqa: E402

RUNS = 300


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="blog-member-breakdown-"))
    url = f"sqlite:///{work / 'blog.sqlite3'}"
    fill(url)
    headers = member_headers(url)
    os.environ.update(blog_env(url, work / "generation", cache=True))
    os.environ["SITE_ALIASES"] = "localhost"  # the test client's host
    from flask import Flask

    import blogapp.cache.shared as shared
    from tests.bench.bench_wsgi import app

    spent: collections.Counter = collections.Counter()

    def timed(name, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return run

    for hooks, kind in ((app.before_request_funcs, "before"), (app.after_request_funcs, "after")):
        for key, funcs in hooks.items():
            hooks[key] = [timed(f"{kind} request: {f.__qualname__}", f) for f in funcs]
    app.teardown_appcontext_funcs[:] = [
        timed(f"teardown: {f.__qualname__}", f) for f in app.teardown_appcontext_funcs
    ]
    interface = app.session_interface
    interface.open_session = timed("session cookie: open", interface.open_session)
    interface.save_session = timed("session cookie: save", interface.save_session)
    app.login_manager._user_callback = timed(
        "  of which loading the user", app.login_manager._user_callback
    )
    shared.SharedPage.fill = timed("  of which filling the parts", shared.SharedPage.fill)
    for endpoint in ("posts.index", "posts.detail"):
        app.view_functions[endpoint] = timed("the view (shared page)", app.view_functions[endpoint])

    client = app.test_client(use_cookies=False)
    for path in ("/", f"/posts/{BIG_POST}"):
        body = client.get(path, headers=headers).data
        assert b"Member 0" in body, "signed in"
        bare = Flask("bare")
        bare.add_url_rule("/", "bare", lambda body=body: body)
        bare_client = bare.test_client()
        for _ in range(30):
            client.get(path, headers=headers)
            bare_client.get("/")
        spent.clear()
        started = time.perf_counter()
        for _ in range(RUNS):
            client.get(path, headers=headers)
        whole = (time.perf_counter() - started) / RUNS * 1000
        started = time.perf_counter()
        for _ in range(RUNS):
            bare_client.get("/")
        ceiling = (time.perf_counter() - started) / RUNS * 1000
        print(f"\nA signed-in member's {path} ({len(body):,} bytes), in one process on SQLite:")
        print(f"  {'whole request':48} {whole:7.3f} ms")
        print(f"  {'bare Flask, the same bytes':48} {ceiling:7.3f} ms")
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {name:48} {seconds / RUNS * 1000:7.3f} ms")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
