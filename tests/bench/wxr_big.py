"""Benchmark: generate a 10,000-post / 100,000-comment WordPress export and import it.

Prints the file size, the import's wall time and the process's peak memory (max RSS).
Not part of the test run (pytest collects only test_*.py). Run it from the repository root:

    .venv/bin/python -m tests.bench.wxr_big                     # a fresh SQLite file
    .venv/bin/python -m tests.bench.wxr_big --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python -m tests.bench.wxr_big --posts 1000 --comments-per-post 10
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

from flask_migrate import upgrade

from blogapp import create_app
from blogapp.wordpress.importer import import_wxr

HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Bench</title><wp:wxr_version>1.2</wp:wxr_version>
"""
PARAGRAPH = (
    "Shift work asks a lot of nurses, aides and therapists. The co-op shares the "
    "schedule, the pay and the decisions with the people who do the work.\n"
)


def write_export(path: Path, posts: int, comments_per_post: int, authors: int = 20) -> None:
    """A realistic export: classic and block posts, tags, nested and held comments."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for a in range(1, authors + 1):
            out.write(
                f"<wp:author><wp:author_id>{a}</wp:author_id><wp:author_login>writer{a}"
                f"</wp:author_login><wp:author_email>writer{a}@example.org</wp:author_email>"
                f"<wp:author_display_name>Writer {a}</wp:author_display_name></wp:author>\n"
            )
        comment_id = 0
        for p in range(1, posts + 1):
            body = "\n\n".join(
                [
                    PARAGRAPH * 3,
                    "<h2>Schedules</h2>",
                    PARAGRAPH * 2,
                    "<h2>Pay</h2>",
                    PARAGRAPH,
                    "<h2>Votes</h2>",
                    PARAGRAPH * 2,
                ]
            )
            if p % 3 == 0:
                body = "\n".join(
                    f"<!-- wp:paragraph -->\n<p>{PARAGRAPH}</p>\n<!-- /wp:paragraph -->"
                    for _ in range(6)
                )
            day = 1 + p % 28
            out.write(
                f"<item><title>Post number {p}</title><dc:creator>writer{1 + p % authors}"
                f'</dc:creator><guid isPermaLink="false">https://old.example/?p={p}</guid>'
                f"<content:encoded><![CDATA[{body}]]></content:encoded>"
                f"<excerpt:encoded><![CDATA[]]></excerpt:encoded><wp:post_id>{p}</wp:post_id>"
                f"<wp:post_date_gmt>2022-{1 + p % 12:02d}-{day:02d} 10:00:00</wp:post_date_gmt>"
                f"<wp:post_modified_gmt>2023-01-01 00:00:00</wp:post_modified_gmt>"
                f"<wp:comment_status>open</wp:comment_status><wp:post_name>post-number-{p}"
                f"</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>"
                f"<wp:post_password></wp:post_password><wp:is_sticky>0</wp:is_sticky>"
                f'<category domain="category" nicename="topic-{p % 10}">Topic {p % 10}</category>'
                f'<category domain="post_tag" nicename="tag-{p % 50}">Tag {p % 50}</category>\n'
            )
            first = comment_id + 1
            for c in range(comments_per_post):
                comment_id += 1
                parent = comment_id - 1 if c % 3 else 0  # threads three deep
                status = "spam" if c == 7 else "0" if c == 8 else "1"
                text = escape(f"Comment {c} on post {p}. Thanks for sharing this!\n\nAgreed.")
                out.write(
                    f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id>"
                    f"<wp:comment_author>Reader {c}</wp:comment_author>"
                    f"<wp:comment_author_email>reader{c}@example.net</wp:comment_author_email>"
                    f"<wp:comment_author_url></wp:comment_author_url>"
                    f"<wp:comment_author_IP>203.0.113.{c}</wp:comment_author_IP>"
                    f"<wp:comment_date_gmt>2022-06-01 10:{c % 60:02d}:00</wp:comment_date_gmt>"
                    f"<wp:comment_content>{text}</wp:comment_content>"
                    f"<wp:comment_approved>{status}</wp:comment_approved>"
                    f"<wp:comment_type>comment</wp:comment_type>"
                    f"<wp:comment_parent>{parent if parent >= first else 0}</wp:comment_parent>"
                    f"<wp:comment_user_id>0</wp:comment_user_id></wp:comment>\n"
                )
            out.write("</item>\n")
        out.write("</channel></rss>\n")


def _cpu() -> float:
    """User and system seconds of this process and the worker processes it has reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--comments-per-post", type=int, default=10)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "big.xml"
        started = time.perf_counter()
        write_export(export, args.posts, args.comments_per_post)
        print(
            f"export: {export.stat().st_size / 1e6:.1f} MB written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "PAGE_CACHE_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            cpu_before = _cpu()
            load = os.getloadavg()[0]
            started = time.perf_counter()
            with export.open("rb") as handle:
                report = import_wxr(handle)
            elapsed = time.perf_counter() - started
            cpu = _cpu() - cpu_before
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"database: {url.split('://')[0]}")
        print(
            f"imported: {report.counts['post']['imported']} posts, "
            f"{report.counts['comment']['imported']} comments"
        )
        print(
            f"time: {elapsed:.1f} s ({report.counts['comment']['imported'] / elapsed:.0f} "
            "comments/s)"
        )
        print(
            f"cpu: {cpu:.1f} s in this process and its workers (the machine's load average "
            f"was {load:.1f} on {os.cpu_count()} cores: a shared machine stretches the time)"
        )
        print(
            f"peak memory (max RSS): {peak / 1024:.0f} MB (before the import: "
            f"{before / 1024:.0f} MB; largest worker {workers / 1024:.0f} MB)"
        )


if __name__ == "__main__":
    main()
