"""Debian's nginx as a caching reverse proxy in front of the blog (issue 20 point 5).

tests/bench/nginx.conf, started by tests/bench/nginx.py, in front of the app in a thread
with its page cache on: anonymous pages come from nginx; a new comment shows through it
within 2 s; nothing of a signed-in reader or of a guest who commented is ever stored by it,
also with the config's cookie bypass removed (the app's headers alone keep them out).
"""

from __future__ import annotations

import time

import pytest
import requests

from blogapp.extensions import db
from blogapp.models import Post
from tests.bench.nginx import caching_proxy, nginx_binary
from tests.builders import make_post, make_user
from tests.servers import CSRF_META_OR_INPUT, Browser, missing, threaded_server
from tests.test_cache import public_addresses

pytestmark = pytest.mark.slow  # a system test: real servers (CI runs it; -m "not slow" skips)


@pytest.fixture
def nginx_in_front(cached_app, request):
    """(app, nginx's URL): nginx caching in front of the app, SITE_URL nginx's address."""
    if nginx_binary() is None:
        missing("nginx is not installed (apt-get install -y nginx)")
    bypass = getattr(request, "param", True)
    with threaded_server(cached_app) as upstream:
        with caching_proxy(upstream.split("//", 1)[1], bypass_cookies=bypass) as proxy:
            cached_app.config["SITE_URL"] = proxy  # the address readers' browsers use
            yield cached_app, proxy


def fetch(url: str, cookies=None) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        return http.get(url, timeout=10, cookies=cookies, allow_redirects=False)


def test_anonymous_pages_come_from_nginx_and_a_new_comment_shows_within_two_seconds(
    nginx_in_front,
):
    app, proxy = nginx_in_front
    with app.app_context():
        make_user("rosa", display_name="Rosa Reader")
        post = make_post(title="Night shift handoffs")
        slug, post_id = post.slug, post.id
    url = f"{proxy}/posts/{slug}"
    first, second = fetch(url), fetch(url)
    assert first.status_code == second.status_code == 200
    assert second.headers["X-Proxy-Cache"] == "HIT", "nginx keeps the anonymous page"
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in second.headers
    assert first.content == second.content

    # A member comments through nginx (signed in: their requests skip its cache)...
    member = Browser(proxy)
    member.login("rosa")
    page = member.get(f"/posts/{slug}")
    assert page.headers["X-Proxy-Cache"] == "BYPASS"
    assert "private" in page.headers["Cache-Control"]

    token = CSRF_META_OR_INPUT.findall(page.text)[-1]
    fetch(url)  # nginx holds a fresh copy from just before the comment
    posted = member.post(
        f"/posts/{slug}/comments", {"body": "Handoffs at 7am work best with a checklist"}, token
    )
    assert posted.status_code == 302, posted.text[:500]
    changed = time.monotonic()
    # ...and a cookieless reader sees it through nginx within 2 s.
    statuses = []
    while True:
        seen = fetch(url)
        statuses.append(seen.headers.get("X-Proxy-Cache"))
        if "Handoffs at 7am work best" in seen.text:
            break
        assert time.monotonic() - changed < 2.0, f"still stale after 2 s: {statuses}"
        time.sleep(0.05)
    assert time.monotonic() - changed < 2.0
    assert "Rosa Reader" in seen.text  # the comment's author, as everyone sees it
    assert "Sign out" not in seen.text, "nginx served the member's own page to a stranger"

    # An edit to the post too (a change made elsewhere than through nginx).
    with app.app_context():
        db.session.get(Post, post_id).title = "Night shift handoffs, revised"
        db.session.commit()
    changed = time.monotonic()
    while "Night shift handoffs, revised" not in fetch(url).text:
        assert time.monotonic() - changed < 2.0
        time.sleep(0.05)


@pytest.mark.parametrize("nginx_in_front", [True, False], indirect=True, ids=["bypass", "headers"])
def test_nginx_never_stores_a_signed_in_readers_or_a_commenting_guests_page(nginx_in_front):
    app, proxy = nginx_in_front
    with app.app_context():
        make_user("rosa", display_name="Rosa Reader")
        addresses = public_addresses()
    slug = addresses["posts.detail"].rsplit("/", 1)[1]

    member = Browser(proxy)
    member.login("rosa")
    guest = Browser(proxy)
    page = guest.get(f"/posts/{slug}")
    assert "Set-Cookie" not in page.headers

    token = CSRF_META_OR_INPUT.findall(page.text)[-1]
    held = guest.post(
        f"/posts/{slug}/comments",
        {"name": "Gale", "email": "gale.first@example.org", "body": "Held words of Gale"},
        token,
        headers={"Origin": proxy, "Sec-Fetch-Site": "same-origin"},
    )
    assert held.status_code == 302 and "private" in held.headers["Cache-Control"]
    assert "Held words of Gale" in guest.get(f"/posts/{slug}").text  # only they see it

    for _ in range(2):
        for endpoint, path in addresses.items():
            for reader in (member, guest):
                answer = reader.get(path)
                assert answer.status_code == 200, path
                assert "private" in answer.headers["Cache-Control"], (endpoint, answer.headers)
                assert answer.headers.get("X-Proxy-Cache") != "HIT", endpoint
            stranger = fetch(proxy + path)
            assert stranger.status_code == 200, path
            assert "Rosa Reader" not in stranger.text, endpoint
            assert "Held words of Gale" not in stranger.text, endpoint
            assert "Sign out" not in stranger.text, endpoint
            assert "Set-Cookie" not in stranger.headers, endpoint
        time.sleep(1.1)  # and once more after nginx's copies went stale and were refreshed
