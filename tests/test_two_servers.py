"""Two app servers sharing PostgreSQL and Redis, as behind a load balancer.

Signed in on one is signed in on the other; a comment posted through one shows at once
through the other (the Redis page cache is invalidated for both); rate limits count
requests to both together.
"""

from __future__ import annotations

import uuid

import pytest
import redis

from blogapp import create_app
from blogapp.extensions import db
from tests import helpers
from tests.builders import make_post, make_user
from tests.servers import (
    REDIS_URL,
    Browser,
    app_env,
    gunicorn,
    own_postgres_database,
    redis_or_missing,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis_url():
    redis_or_missing().close()
    return REDIS_URL


@pytest.fixture(scope="module")
def two_servers(redis_url):
    """Two gunicorn servers, one database, one Redis, a key prefix of this module's own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    settings = {
        "COMMENT_MIN_SECONDS": 0,
        "PAGE_CACHE_KEY_PREFIX": prefix + "page-cache:",
        "RATELIMIT_KEY_PREFIX": prefix + "limits",
        "RATELIMIT_SIGNIN": "4 per minute",
    }
    factory = f"blogapp:create_app({settings!r})"
    with own_postgres_database("blogtwo") as url:
        app = create_app(helpers.test_config(url))
        with app.app_context():
            author = make_user("writer", role="author")
            make_user("member")
            slug = make_post(author, title="Shared everything").slug
            db.engine.dispose()
        env = app_env(url, REDIS_URL=redis_url, PAGE_CACHE_ENABLED="true", RATELIMIT_ENABLED="true")
        with (
            gunicorn(env, workers=2, app=factory) as one,
            gunicorn(env, workers=2, app=factory) as two,
        ):
            yield one, two, slug, prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)


def test_signed_in_on_one_is_signed_in_on_the_other(two_servers):
    one, two, _, _ = two_servers
    person = Browser(one)
    person.login("member")
    assert person.get("/account").status_code == 200
    person.base = two
    page = person.get("/account")
    assert page.status_code == 200
    assert "member" in page.text
    # Signing out through the second ends it on the first as well.
    person.post("/auth/logout", {}, token=person.token("/account"))
    person.base = one
    assert person.get("/account").status_code in (302, 303)


def test_comment_through_one_shows_at_once_through_the_other(two_servers, redis_url):
    one, two, slug, prefix = two_servers
    for _ in range(3):  # warm the shared page cache on the second server, as a new visitor
        before = Browser(two).get(f"/posts/{slug}")
        assert before.status_code == 200
    assert "Posted through server one" not in before.text
    shared = redis.Redis.from_url(redis_url)
    assert list(shared.scan_iter(match=f"{prefix}page-cache:page:*")), "nothing was cached"

    member = Browser(one)
    member.login("member")
    response = member.post(
        f"/posts/{slug}/comments",
        {"body": "Posted through server one", "stamp": "", "homepage": ""},
        token=member.token(f"/posts/{slug}"),
    )
    assert response.status_code == 302
    assert "#comment-" in response.headers["Location"]

    after = Browser(two).get(f"/posts/{slug}")
    assert after.status_code == 200
    assert "Posted through server one" in after.text
    home = Browser(two).get("/")
    assert "1 comment" in home.text


def test_rate_limits_count_across_both_servers(two_servers, redis_url):
    one, two, _, prefix = two_servers
    shared = redis.Redis.from_url(redis_url)
    for key in shared.scan_iter(match=f"*{prefix}limits*"):  # sign-ins by the tests above
        shared.delete(key)
    statuses = []
    for n in range(6):
        person = Browser(one if n % 2 == 0 else two)
        response = person.post("/auth/login", {"login": f"nobody{n}", "password": "wrong" * 3})
        statuses.append(response.status_code)
    # 4 sign-in attempts a minute from one address, wherever they land: the 5th is refused.
    assert all(status in (200, 400) for status in statuses[:4]), statuses
    assert statuses[4:] == [429, 429], statuses
    refused = Browser(one).post("/auth/login", {"login": "x", "password": "y"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
