"""flask check-links: every outbound link in published posts, checked a few at a time.

Each link is asked for with HEAD (GET when a server refuses HEAD), with a timeout; an
answer of 400 or more, a refused connection, a bad name or a timeout counts as dead. The
table lists each dead link with the posts it is in; the exit status is 1 when any is dead.
"""

from __future__ import annotations

import html
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Post, PostKind
from .services import visible_posts

# Stored HTML is sanitized: links are always <a ... href="..."> with double quotes.
_HREF = re.compile(r'<a\s[^>]*?href="(https?://[^"]+)"')
USER_AGENT = "AlliedUP-blog-link-check/1"


def outbound_links() -> dict[str, list[str]]:
    """Every http(s) link in visible posts and pages -> the slugs of the posts holding it."""
    found: dict[str, list[str]] = {}
    for kind in (PostKind.POST, PostKind.PAGE):
        query = visible_posts(kind).with_only_columns(Post.slug, Post.body_html)
        for slug, body in db.session.execute(query):
            for url in dict.fromkeys(html.unescape(u) for u in _HREF.findall(body or "")):
                found.setdefault(url, []).append(slug)
    return found


def problem(url: str, timeout: float) -> str | None:
    """Why the link is dead, or None when it answers."""
    if not url.lower().startswith(("http://", "https://")):
        return "not an http(s) link"
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            # The scheme was checked above: only http(s), never file:// or others.
            with urllib.request.urlopen(request, timeout=timeout):  # nosec B310
                return None
        except urllib.error.HTTPError as error:
            if method == "HEAD" and error.code in (403, 405, 501):
                continue  # some servers refuse HEAD only
            return f"HTTP {error.code}"
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return "timed out" if "timed out" in str(reason) else str(reason)[:80]
    return None


@click.command("check-links")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per link.")
@click.option("--workers", default=4, show_default=True, help="Links checked at once.")
@with_appcontext
def check_links_command(timeout: float, workers: int):
    """Check every outbound link in published posts; list the dead ones (exit 1 if any)."""
    links = outbound_links()
    dead: dict[str, str] = {}
    with (
        ThreadPoolExecutor(max_workers=max(1, min(workers, 16))) as pool,
        click.progressbar(length=len(links), label="Checking links", file=sys.stderr) as bar,
    ):
        futures = {pool.submit(problem, url, timeout): url for url in links}
        for future in as_completed(futures):
            reason = future.result()
            if reason is not None:
                dead[futures[future]] = reason
            bar.update(1)
    if not dead:
        click.echo(f"All {len(links)} links answered.")
        return
    rows = [("link", "problem", "posts")] + [
        (url, dead[url], ", ".join(f"/posts/{slug}" for slug in links[url])) for url in sorted(dead)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for row in rows:
        click.echo(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}")
    click.echo(f"{len(dead)} of {len(links)} links are dead.")
    sys.exit(1)
