"""Shared pages for anonymous readers: the guest token, no cookie, and what shared caches keep.

Issue 15 point 5 (two tabs opened at once by a cookieless visitor both post) and issue 20
point 5 (pages a shared cache can keep; nothing personal ever stored by it). The nginx
half is tests/test_shared_cache_nginx.py; two real tabs are tests/browser/test_guest_tabs.py.
"""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from blogapp import guest_token
from blogapp.extensions import db
from blogapp.models import Comment
from tests.builders import make_post, make_user
from tests.helpers import CSRF_INPUT, FROM_THIS_SITE, AuthActions, csrf_token
from tests.test_cache import PUBLIC_PAGES, public_addresses

GUEST = {"name": "Ana", "email": "ana@example.org", "body": "Thank you for the night-shift tips"}


@pytest.fixture
def slug(app):
    with app.app_context():
        make_user("mia")
        return make_post(title="Open thread").slug


def comments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def guest_token_of(client, path: str) -> str:
    page = client.get(path)
    assert "Set-Cookie" not in page.headers, "a shared page starts no session"
    return CSRF_INPUT.findall(page.text)[-1]


def send(client, slug: str, token: str, headers=None, **fields):
    data = {**GUEST, **fields, "csrf_token": token}
    return client.post(f"/posts/{slug}/comments", data=data, headers=headers or {})


def window(app) -> int:
    return int(time.time() // app.config["GUEST_TOKEN_WINDOW"])


# -- the token is taken from this site, by someone not signed in -------------------------


def test_a_guest_posts_with_the_token_from_a_page_that_started_no_session(app, client, slug):
    token = guest_token_of(client, f"/posts/{slug}")
    sent = send(client, slug, token, FROM_THIS_SITE)
    assert sent.status_code == 302
    assert "Set-Cookie" in sent.headers  # the held comment is kept in the session from now
    assert "private" in sent.headers["Cache-Control"]
    assert comments(app) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},  # Fetch Metadata alone (the browser's own word)
        {"Origin": "http://localhost"},  # a browser without Fetch Metadata: Origin alone
        {"Origin": "HTTP://LOCALHOST"},  # origins compare without case
    ],
)
def test_either_fetch_metadata_or_the_origin_shows_the_post_is_from_this_site(
    app, client, slug, headers
):
    token = guest_token_of(client, f"/posts/{slug}")
    assert send(client, slug, token, headers).status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "https://localhost"},  # another scheme is another origin
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},  # Fetch Metadata wins
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is not this site
        {"Sec-Fetch-Site": "none"},
    ],
)
def test_a_cross_site_post_with_the_guest_token_is_refused(app, client, slug, headers):
    token = guest_token_of(client, f"/posts/{slug}")
    refused = send(client, slug, token, headers)
    assert refused.status_code == 400
    assert GUEST["body"] in refused.text, "what was typed comes back"
    assert comments(app) == 0


def test_a_post_with_neither_origin_nor_fetch_metadata_is_refused_then_posts_by_session(
    app, client, slug
):
    """Decided: refused, since every current browser sends Origin on a form POST. An old
    browser (or a script) still posts: the form comes back with its session's token."""
    token = guest_token_of(client, f"/posts/{slug}")
    refused = send(client, slug, token)
    assert refused.status_code == 400 and GUEST["body"] in refused.text
    assert comments(app) == 0
    assert "Set-Cookie" in refused.headers and "private" in refused.headers["Cache-Control"]
    session_token = CSRF_INPUT.findall(refused.text)[-1]
    assert session_token != token
    assert send(client, slug, session_token).status_code == 302
    assert comments(app) == 1


def test_an_expired_forged_or_future_guest_token_is_refused(app, client, slug):
    now = window(app)
    oldest = app.config["GUEST_TOKEN_MAX_AGE"] // app.config["GUEST_TOKEN_WINDOW"]
    ours = app.extensions["guest_token"]
    refused = {
        "expired": ours.dumps(now - oldest - 1),
        "from the future": ours.dumps(now + 2),  # +1: a server whose clock is a bit ahead
        "not a window": ours.dumps("now"),
        "another key": URLSafeSerializer("not-the-key", salt=guest_token.SALT).dumps(now),
        "another salt": URLSafeSerializer(app.secret_key, salt="wtf-csrf-token").dumps(now),
        "tampered": ours.dumps(now)[:-2] + "xx",
        "huge": ours.dumps(now) + "a" * 5000,
        "empty": "",
    }
    for why, token in refused.items():
        assert send(client, slug, token, FROM_THIS_SITE).status_code == 400, why
    assert comments(app) == 0
    # The oldest window still accepted: a comment typed for hours posts.
    oldest_accepted = ours.dumps(now - oldest)
    assert send(app.test_client(), slug, oldest_accepted, FROM_THIS_SITE).status_code == 302


def test_a_signed_in_member_cannot_post_with_the_guest_token(app, slug):
    token = guest_token_of(app.test_client(), f"/posts/{slug}")
    member = app.test_client()
    AuthActions(member).login("mia")
    refused = send(member, slug, token, FROM_THIS_SITE, body="Forged as Mia")
    assert refused.status_code == 400
    assert comments(app) == 0
    # Their own page carries their session's token, which posts.
    own = CSRF_INPUT.findall(member.get(f"/posts/{slug}").text)[-1]
    assert own != token
    assert send(member, slug, own, FROM_THIS_SITE).status_code == 302


def test_the_sign_in_form_does_not_take_the_guest_token(app, client, slug):
    token = guest_token_of(client, f"/posts/{slug}")
    from tests.builders import PASSWORD

    refused = client.post(
        "/auth/login",
        data={"login": "mia", "password": PASSWORD, "csrf_token": token},
        headers=FROM_THIS_SITE,
    )
    assert refused.status_code == 400
    with client.session_transaction() as session:
        assert "_user_id" not in session


def numeric(rule, arg: str):
    """A value the argument's converter takes: 1 for numbers, "x" for names."""
    from werkzeug.routing.converters import NumberConverter

    return 1 if isinstance(rule._converters[arg], NumberConverter) else "x"


def test_only_the_comment_form_takes_the_guest_token_and_every_other_post_refuses_it(app, slug):
    """Every POST route but the guest form, anonymous and as a signed-in admin, sent the guest
    token with this site's headers: Flask-WTF never finds it valid, and nothing succeeds."""
    from flask import g

    from blogapp.extensions import csrf
    from blogapp.models import Role

    checks: list[bool] = []

    @app.after_request
    def spy(response):
        checks.append(g.get("csrf_valid", False))  # set only once a token was found good
        return response

    takes = {e for e, view in app.view_functions.items() if getattr(view, "accepts_guest_token", 0)}
    assert takes == {"comments.create"}
    posts = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint in takes:
                continue
            view = app.view_functions[rule.endpoint]
            if f"{view.__module__}.{view.__name__}" in csrf._exempt_views:
                continue  # no token at all (one-click unsubscribe, the subscribe box)
            values = {arg: numeric(rule, arg) for arg in rule.arguments}
            posts.append((rule.endpoint, rule.build(values, append_unknown=False)[1]))
    assert len(posts) > 20
    with app.app_context():
        make_user("boss", role=Role.ADMIN)
    anonymous, admin = app.test_client(), app.test_client()
    AuthActions(admin).login("boss")
    token = guest_token_of(anonymous, f"/posts/{slug}")
    for client in (anonymous, admin):
        for endpoint, url in posts:
            answer = client.post(url, data={"csrf_token": token}, headers=FROM_THIS_SITE)
            assert answer.status_code >= 400, (endpoint, url, answer.status_code)
            assert checks[-1] is False, (endpoint, url)
    with admin.session_transaction() as session:
        assert "_user_id" in session  # not even signed out by the forged logout


# -- pages a shared cache may keep, and nothing personal in one -------------------------


def test_every_public_page_is_the_same_bytes_for_every_cookieless_visitor(cached_app):
    with cached_app.app_context():
        addresses = public_addresses()
    for url in addresses.values():
        one, two = cached_app.test_client().get(url), cached_app.test_client().get(url)
        assert one.status_code == two.status_code == 200, url
        assert two.headers["X-Page-Cache"] == "hit", url
        assert one.data == two.data, url
        assert one.headers["ETag"] == two.headers["ETag"], url
        for answer in (one, two):
            assert "Set-Cookie" not in answer.headers, url
            control = answer.headers["Cache-Control"]
            assert "public" in control and "s-maxage=1" in control, (url, control)
            assert "stale-while-revalidate=1" in control and "max-age=0" in control, url
            assert "private" not in control and "no-cache" not in control, url


def test_a_guest_comment_form_on_a_cached_page_posts_for_two_visitors(cached_app):
    with cached_app.app_context():
        slug = make_post(title="Cached talk").slug
    first, second = cached_app.test_client(), cached_app.test_client()
    tokens = [guest_token_of(visitor, f"/posts/{slug}") for visitor in (first, second)]
    assert tokens[0] == tokens[1]  # the same bytes for both: the same token
    for n, (visitor, token) in enumerate(zip((first, second), tokens, strict=True)):
        assert send(visitor, slug, token, FROM_THIS_SITE, body=f"Visitor {n}").status_code == 302
    assert comments(cached_app) == 2


def signed_in_member(app):
    client = app.test_client()
    with app.app_context():
        make_user("rosa", display_name="Rosa Reader")
    AuthActions(client).login("rosa")
    return client


def guest_with_a_held_comment(app, slug: str):
    client = app.test_client()
    token = guest_token_of(client, f"/posts/{slug}")
    first_time = {"email": "first.time@example.org"}  # no approved comment yet: held
    assert send(client, slug, token, FROM_THIS_SITE, **first_time).status_code == 302
    with client.session_transaction() as session:
        assert session.get("held_comments"), "the guest's held comment is in their session"
    return client


@pytest.mark.parametrize("who", ["signed in", "after commenting as a guest"])
def test_every_public_page_is_private_for_a_signed_in_reader_or_a_guest_who_commented(
    cached_app, who
):
    with cached_app.app_context():
        addresses = public_addresses()
    slug = addresses["posts.detail"].rsplit("/", 1)[1]
    if who == "signed in":
        reader = signed_in_member(cached_app)
    else:
        reader = guest_with_a_held_comment(cached_app, slug)
    assert set(addresses) == set(PUBLIC_PAGES)
    for _ in range(2):  # the second time as well: nothing of theirs was stored either
        for endpoint, url in addresses.items():
            answer = reader.get(url)
            assert answer.status_code == 200, url
            control = answer.headers["Cache-Control"]
            assert "private" in control or "no-store" in control, (endpoint, control)
            assert "public" not in control and "s-maxage" not in control, (endpoint, control)
            assert "X-Page-Cache" not in answer.headers, endpoint


def test_any_answer_that_sets_a_cookie_is_private(cached_app, slug):
    """Every GET route that takes no arguments, anonymous and signed in, and a public view
    setting its own cookie: whenever Set-Cookie is sent, shared caches may not keep it."""

    @cached_app.get("/test-own-cookie")
    def own_cookie():
        response = cached_app.make_response("<p>The same for everyone</p>")
        response.set_cookie("visits", "1")
        return response

    from blogapp.cache import public_page

    public_page(own_cookie)
    with cached_app.app_context():
        make_user("rosa")
    urls = [
        rule.rule
        for rule in cached_app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments
    ]
    seen_cookies = 0
    for visitor in (cached_app.test_client(), cached_app.test_client()):
        for url in urls:
            answer = visitor.get(url)
            if "Set-Cookie" in answer.headers:
                seen_cookies += 1
                control = answer.headers.get("Cache-Control", "")
                assert "private" in control or "no-store" in control, (url, control)
                assert "public" not in control and "s-maxage" not in control, (url, control)
        AuthActions(visitor).login("rosa")  # the second visitor is signed in
        assert visitor.get_cookie("session")
    signed_in = AuthActions(cached_app.test_client())
    assert "private" in signed_in.login("rosa").headers["Cache-Control"]  # the sign-in's 302
    assert seen_cookies >= 3  # at least the own-cookie page and the token-carrying forms


def test_a_shared_cache_lifetime_of_zero_turns_it_off(app, slug):
    app.config["SHARED_CACHE_SECONDS"] = 0
    answer = app.test_client().get(f"/posts/{slug}")
    assert "no-cache" in answer.headers["Cache-Control"]
    assert "public" not in answer.headers["Cache-Control"]


def test_the_session_token_still_posts_for_a_guest(app, client, slug):
    """A session made before this change (or by the form coming back) keeps working."""
    assert send(client, slug, csrf_token(client)).status_code == 302
