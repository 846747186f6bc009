"""The blog against Flask's ceiling: `.venv/bin/python tests/bench/run.py [--duration 5]`.

For each database (SQLite in a temporary folder; PostgreSQL in a database of its own that
is dropped at the end) it fills the blog with 1,000 posts, one post with 300 comments and
posts with 10 / 100 / 1,000 comments, starts gunicorn (4 sync workers on a free local
port) with the page cache off and then on, and measures requests/s and p50/p99 latency
with `wrk -t2 -c16` (a Python load generator when wrk is missing). In the same run, a bare
Flask app under the same gunicorn settings returns each page's bytes from memory: the
framework's ceiling, which each page's rate is printed as a fraction of. Rows marked
"nginx" are the home and post pages through Debian's nginx caching in front of the
cache-on gunicorn (tests/bench/nginx.conf: what the app's Cache-Control lets a shared
cache keep, one second, revalidated with the ETag). Rows marked
"mem" are the home and post pages rendered by the blog's own templates and request
handling from objects loaded once (no queries): what the templates alone allow.
The table is also written to tests/bench/results/latest.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
GUNICORN = [sys.executable, "-m", "gunicorn", "-w", "4", "--worker-class", "sync"]
SECRET = "bench-secret-key-not-for-production"
BIG_POST = "empathy-in-action-300-comments"
PAGES = {
    "home": "/",
    "post (300 comments)": f"/posts/{BIG_POST}",
    "search empathy": "/search?q=empathy",
    "feed": "/feed.xml",
}
# The same pages for a signed-in member (their session cookie): shared renderings with the
# member's parts filled in (blogapp/cache/shared.py).
MEMBER_PAGES = {
    "home, member": "/",
    "post (300), member": f"/posts/{BIG_POST}",
}
FROM_MEMORY = {  # the same pages rendered from objects loaded once: no queries (bench_wsgi)
    "home": "/bench/from-memory/home",
    "post (300 comments)": "/bench/from-memory/post",
}
GROWTH = [10, 100, 1000]
STAMP = re.compile(rb'name="stamp"[^>]*value="[^"]*"')
THROUGH_NGINX = ("home", "post (300 comments)")  # measured again through nginx's cache
TARGETS = {  # (page, cache) -> least fraction of the ceiling
    ("home", "nginx"): 3.0,
    ("post (300 comments)", "nginx"): 3.0,
    ("home", "on"): 0.7,
    ("post (300 comments)", "on"): 0.7,
    ("post (300 comments)", "off"): 0.10,
    ("home", "off"): 0.15,
    ("home, member", "on"): 0.30,
    ("post (300), member", "on"): 0.25,
}
COLD_SAMPLES = 15  # requests timed one at a time, each right after a change


@dataclass
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int = 0


# -- the data ----------------------------------------------------------------------------


def fill(database_url: str) -> None:
    """Migrate, then insert 1,000 posts and the comment-heavy posts directly with the models."""
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from blogapp import create_app
    from blogapp.demo import read_article
    from blogapp.extensions import db
    from blogapp.models import Category, Comment, CommentStatus, Post, Role, Tag, User, utcnow
    from blogapp.models import post_tags as post_tags_table
    from blogapp.posts.services import render_content

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET, "PAGE_CACHE_ENABLED": False}
    )
    with app.app_context():
        upgrade()
        _, body = read_article()
        categories = [Category(name=n, slug=n.lower()) for n in ("News", "Advice", "Updates")]
        tags = [Tag(name=f"topic {n}", slug=f"topic-{n}") for n in range(20)]
        authors = [
            User(
                username=f"author{n}",
                username_key=f"author{n}",
                email=f"a{n}@example.org",
                email_key=f"a{n}@example.org",
                display_name=f"Author {n}",
                role=Role.AUTHOR,
            )
            for n in range(5)
        ]
        members = [
            User(
                username=f"member{n}",
                username_key=f"member{n}",
                email=f"m{n}@example.org",
                email_key=f"m{n}@example.org",
                display_name=f"Member {n}",
                confirmed_at=utcnow(),
            )
            for n in range(40)
        ]
        db.session.add_all([*categories, *tags, *authors, *members])
        db.session.commit()
        now = utcnow()
        special = {BIG_POST: 300} | {f"empathy-in-action-{n}-comments": n for n in GROWTH}
        template = Post(body_md=body, body_format="markdown", excerpt="")
        render_content(template)  # rendered once, as saving a post would; copied to all
        rendered = {
            column: getattr(template, column)
            for column in ("body_md", "body_html", "body_text", "toc_json", "summary", "word_count")
            if column in Post.__table__.c
        }
        rows = []
        for n in range(1000):
            slug = list(special)[n] if n < len(special) else f"empathy-in-action-{n}"
            rows.append(
                {
                    **rendered,
                    "kind": "post",
                    "title": f"Empathy in Action, part {n}",
                    "slug": slug,
                    "status": "published",
                    "published_at": now - timedelta(hours=n + 1),
                    "created_at": now,
                    "updated_at": now,
                    "author_id": authors[n % 5].id,
                    "category_id": categories[n % 3].id,
                    "comment_count": special.get(slug, 0),
                }
            )
        db.session.execute(insert(Post), rows)
        db.session.commit()
        ids = dict(db.session.execute(select(Post.slug, Post.id)).all())
        db.session.execute(
            insert(post_tags_table),
            [
                {"post_id": post_id, "tag_id": tags[(post_id + k) % 20].id}
                for post_id in ids.values()
                for k in range(3)
            ],
        )
        # Rows inserted in bulk, ids, roots and counts given, not through save_comment like
        # the tests' builders: thousands of posts and comments in seconds, to time reading.
        next_id = (db.session.scalar(select(func.max(Comment.id))) or 0) + 1
        comments = []
        for slug, count in special.items():
            root = None
            for k in range(count):
                comment_id = next_id
                next_id += 1
                top = k % 2 == 0  # threads of two: a comment and a reply
                root = comment_id if top else root
                member = members[k % 40] if k % 3 else None
                comments.append(
                    {
                        "id": comment_id,
                        "post_id": ids[slug],
                        "root_id": root,
                        "parent_id": None if top else root,
                        "user_id": member.id if member else None,
                        "guest_name": "" if member else f"Guest {k}",
                        "guest_email": "" if member else f"g{k}@example.org",
                        "status": CommentStatus.APPROVED,
                        "body_md": "Thank you for this, it helped on my last shift.",
                        "body_html": "<p>Thank you for this, it helped on my last shift.</p>",
                        "created_at": now - timedelta(minutes=count - k),
                        "ip": "127.0.0.0",
                    }
                )
        db.session.execute(insert(Comment), comments)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                db.text(
                    "SELECT setval(pg_get_serial_sequence('comments', 'id'), max(id)) FROM comments"
                )
            )
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()


def member_headers(database_url: str) -> dict[str, str]:
    """A signed-in member's request headers: the session cookie a browser holds after
    signing in (a live session record, Flask-Login's identifier for this client, a CSRF
    secret), and the User-Agent that identifier was made for."""
    import secrets

    from flask_login.utils import _create_identifier
    from sqlalchemy import select

    from blogapp import create_app
    from blogapp.auth import sessions
    from blogapp.extensions import db
    from blogapp.models import User

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET, "PAGE_CACHE_ENABLED": False}
    )
    agent = "blog-bench"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "member0"))
        _, token, _ = sessions.start(
            user, user_agent=agent, address="127.0.0.0", lifetime=timedelta(days=1)
        )
        user.session_token = token
        environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": agent}
        with app.test_request_context(environ_base=environ):
            state = {
                "_user_id": user.get_id(),
                "_fresh": True,
                "_id": _create_identifier(),
                "csrf_token": secrets.token_hex(20),
            }
        value = app.session_interface.get_signing_serializer(app).dumps(state)
        name = app.config["SESSION_COOKIE_NAME"]
        db.engine.dispose()
    return {"Cookie": f"{name}={value}", "User-Agent": agent}


def bump_generation(generation_file: Path, redis: str | None) -> None:
    """A change, as a commit would make it: every cached page and shared page goes cold."""
    if redis:
        import redis as redis_client

        client = redis_client.Redis.from_url(redis)
        client.incr("blog:page-cache:generation")
        client.close()
    else:
        generation_file.write_text(uuid.uuid4().hex)


def cold(url: str, generation_file: Path, redis: str | None, headers: dict) -> Result:
    """One request at a time, each right after a change: the fully cold render."""
    times = []
    for _ in range(COLD_SAMPLES):
        bump_generation(generation_file, redis)
        started = time.perf_counter()
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return Result(1000 / statistics.median(times), statistics.median(times), times[-1])


# -- servers and load --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn, 4 sync workers, on a free local port; stopped by its own process id."""

    def __init__(self, app: str, env: dict, log: Path, ready_path: str = "/"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*GUNICORN, "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), app],
            env={**os.environ, **env},
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.time() + 120  # a busy machine boots 4 workers slowly
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not start for {app}; see {log}")

    def get(self, path: str, headers: dict | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(
    url: str, seconds: float, connections: int = 16, threads: int = 2, headers: dict | None = None
) -> Result:
    headers = headers or {}
    if shutil.which("wrk"):
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                *[arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")],
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        lat = {m.group(1): float(m.group(2)) * UNITS[m.group(3)] for m in WRK_LATENCY.finditer(out)}
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        socket_errors = re.search(r"Socket errors: (.*)", out)
        count = int(errors.group(1)) if errors else 0
        if socket_errors:
            count += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
        return Result(rate, lat.get("50", 0.0), lat.get("99", 0.0), count)
    return python_load(url, seconds, connections, headers)


def python_load(url: str, seconds: float, connections: int, headers: dict) -> Result:
    """A keep-alive load generator in threads, for machines without wrk."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1] if "/" in url.split("//")[1] else "/"
    latencies: list[float] = []
    errors = [0]
    stop = time.time() + seconds

    def worker():
        conn = HTTPConnection(host, int(port), timeout=30)
        while time.time() < stop:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status >= 400:
                errors[0] += 1

    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies.sort()
    return Result(
        len(latencies) / seconds,
        statistics.median(latencies),
        latencies[int(len(latencies) * 0.99) - 1],
        errors[0],
    )


# -- the run -----------------------------------------------------------------------------


def blog_env(url: str, generation_file: Path, cache: bool) -> dict[str, str]:
    """The environment tests.bench.bench_wsgi's app is configured from."""
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "BLOG_ENV": "production",
        "PAGE_CACHE_ENABLED": "true" if cache else "false",
        "RATELIMIT_ENABLED": "false",
        "BENCH_GENERATION_FILE": str(generation_file),
        "SITE_URL": "http://127.0.0.1",  # production needs its address; any port is this host
    }


def bench_database(name: str, url: str, work: Path, seconds: float, redis: str | None):
    """Rates for each page with the cache off and on, the growth series, and the pages' bytes."""
    print(f"\n== {name}: filling 1,000 posts and the commented posts...", flush=True)
    started = time.time()
    fill(url)
    print(f"   filled in {time.time() - started:.1f} s", flush=True)
    results: dict[tuple[str, str], Result] = {}
    growth: dict[int, Result] = {}
    page_bytes: dict[str, bytes] = {}
    member = member_headers(url)
    generation_file = work / f"gen-{name}"
    for cache in ("off", "on"):
        env = blog_env(url, generation_file, cache == "on")
        if redis and cache == "on":
            env["REDIS_URL"] = redis
        server = Server("tests.bench.bench_wsgi:app", env, work / "gunicorn.log")
        try:
            pages = [(page, path, {}) for page, path in PAGES.items()]
            pages += [(page, path, member) for page, path in MEMBER_PAGES.items()]
            for page, path, headers in pages:
                page_bytes[page] = server.get(path, headers)
                if page.startswith("post"):
                    assert b"Thank you for this" in page_bytes[page], "comments are on the page"
                if headers:
                    assert b"Member 0" in page_bytes[page], "the member is signed in"
                load(server.url + path, 1, headers=headers)  # warm up every worker (and its cache)
                results[(page, cache)] = load(server.url + path, seconds, headers=headers)
                print(
                    f"   cache {cache:3} {page:22} {results[(page, cache)].rate:8.0f} req/s",
                    flush=True,
                )
            if cache == "on":
                results.update(through_nginx(server, seconds))
                for page, path, headers in pages:
                    if page.startswith(("home", "post")):
                        found = cold(server.url + path, generation_file, redis, headers)
                        results[(page, "cold")] = found
                        print(f"   cold      {page:22} {found.p50_ms:8.1f} ms", flush=True)
            if cache == "off":
                for page, path in FROM_MEMORY.items():
                    load(server.url + path, 1)
                    results[(page, "mem")] = load(server.url + path, seconds)
                    print(
                        f"   no queries {page:20} {results[(page, 'mem')].rate:8.0f} req/s",
                        flush=True,
                    )
                for count in GROWTH:
                    path = f"/posts/empathy-in-action-{count}-comments"
                    load(server.url + path, 1, connections=1, threads=1)
                    growth[count] = load(server.url + path, seconds, connections=1, threads=1)
        finally:
            server.stop()
    return results, growth, page_bytes


def through_nginx(server: Server, seconds: float) -> dict[tuple[str, str], Result]:
    """The anonymous pages through nginx caching in front of this server (tests/bench/nginx.conf).

    nginx keeps each page for the second its Cache-Control allows and then revalidates it
    with the ETag, so the app still answers about once a second per page.
    """
    from tests.bench.nginx import caching_proxy, nginx_binary

    if nginx_binary() is None:
        print("   nginx skipped: not installed (apt-get install -y nginx)", flush=True)
        return {}
    found = {}
    with caching_proxy(f"127.0.0.1:{server.port}") as proxy:
        for page in THROUGH_NGINX:
            url = proxy + PAGES[page]
            with urllib.request.urlopen(url, timeout=30) as response:
                # The page's bytes (each worker's cached copy has its own form time stamp).
                assert STAMP.sub(b"", response.read()) == STAMP.sub(b"", server.get(PAGES[page]))
            load(url, 1)
            found[(page, "nginx")] = load(url, seconds)
            print(f"   nginx     {page:22} {found[(page, 'nginx')].rate:8.0f} req/s", flush=True)
    return found


def ceilings_for(page_bytes: dict[str, bytes], work: Path, seconds: float) -> dict[str, Result]:
    """Bare Flask under the same gunicorn settings, serving each page's bytes from memory."""
    folder = work / "pages"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    names = {page: f"page{n}" for n, page in enumerate(page_bytes)}
    for page, name in names.items():
        (folder / name).write_bytes(page_bytes[page])
    server = Server(
        "tests.bench.ceiling_wsgi:app",
        {"BENCH_PAGES_DIR": str(folder)},
        work / "gunicorn.log",
        ready_path="/page0",
    )
    try:
        found = {}
        for page, name in names.items():
            load(server.url + "/" + name, 1)
            found[page] = load(server.url + "/" + name, seconds)
            print(f"   ceiling   {page:22} {found[page].rate:8.0f} req/s", flush=True)
        return found
    finally:
        server.stop()


def create_pg_database() -> tuple[str, str] | None:
    import psycopg

    name = f"blog_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_SERVER + "/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"PostgreSQL skipped: {error}".strip())
        return None
    return name, f"{PG_SERVER}/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(ceilings, all_results, all_growth, seconds: float) -> str:
    tool = "wrk -t2 -c16" if shutil.which("wrk") else "python load generator, 16 connections"
    lines = [
        f"Blog vs bare Flask ceiling — gunicorn -w 4 (sync), {tool}, {seconds:g} s per row,"
        f" {os.cpu_count()} CPUs",
        "",
        f"{'database':10} {'cache':5} {'page':22} {'req/s':>8} {'of ceiling':>10} "
        f"{'p50 ms':>8} {'p99 ms':>8}  target",
        "-" * 90,
    ]
    for db_name, results in all_results.items():
        for page in [*PAGES, *MEMBER_PAGES]:
            top = ceilings[db_name][page]
            lines.append(
                f"{db_name:10} {'-':5} {page:22} {top.rate:8.0f} {1:10.2f} "
                f"{top.p50_ms:8.2f} {top.p99_ms:8.2f}  bare Flask, same bytes (ceiling)"
            )
            for cache in ("off", "on", "mem", "nginx", "cold"):
                if (page, cache) not in results:
                    continue
                r = results[(page, cache)]
                fraction = r.rate / top.rate
                if cache == "cold":
                    lines.append(
                        f"{db_name:10} {cache:5} {page:22} {'':8} {'':10} {r.p50_ms:8.2f} "
                        f"{r.p99_ms:8.2f}  one request right after a change (median of "
                        f"{COLD_SAMPLES}; p99 column: slowest)"
                    )
                    continue
                target = TARGETS.get((page, cache))
                verdict = ""
                if target is not None:
                    verdict = f">= {target:.2f} {'ok' if fraction >= target else 'MISSED'}"
                if cache == "mem":
                    verdict = "same templates, objects from memory: no queries"
                if cache == "nginx":
                    verdict = "through nginx's cache (s-maxage=1), " + verdict
                if r.errors:
                    verdict += f" ({r.errors} errors)"
                lines.append(
                    f"{db_name:10} {cache:5} {page:22} {r.rate:8.0f} {fraction:10.2f} "
                    f"{r.p50_ms:8.2f} {r.p99_ms:8.2f}  {verdict}"
                )
        lines.append("")
    lines.append("Post page time by comments (uncached, one connection; 50 threads a page,")
    lines.append("threads of two, so 10 / 100 / 100 comments are shown):")
    lines.append(f"{'database':10} " + " ".join(f"{n:>7} comments" for n in GROWTH))
    for db_name, growth in all_growth.items():
        lines.append(f"{db_name:10} " + " ".join(f"{growth[n].p50_ms:10.2f} ms" for n in GROWTH))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--redis", help="use this REDIS_URL for the cache-on runs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    all_results, all_growth, ceilings = {}, {}, {}
    pg = None
    try:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{work / 'bench.sqlite3'}"
            results, growth, page = bench_database("sqlite", url, work, args.duration, args.redis)
            all_results["sqlite"], all_growth["sqlite"] = results, growth
            ceilings["sqlite"] = ceilings_for(page, work, args.duration)
        if args.only in (None, "postgresql"):
            pg = create_pg_database()
            if pg:
                results, growth, page = bench_database(
                    "postgresql", pg[1], work, args.duration, args.redis
                )
                all_results["postgresql"], all_growth["postgresql"] = results, growth
                ceilings["postgresql"] = ceilings_for(page, work, args.duration)
    finally:
        if pg:
            drop_pg_database(pg[0])
    table = report(ceilings, all_results, all_growth, args.duration)
    print("\n" + table)
    out = ROOT / "tests" / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.txt").write_text(table + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
