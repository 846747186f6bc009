"""SITE_URL: links are built from the configured address, never from a request's Host."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from blogapp.links import absolute_url_for
from blogapp.models import Role
from tests.builders import make_post, make_user
from tests.helpers import csrf_token, record_mail
from tests.member_roles import own_app

ROOT = Path(__file__).parent.parent
SITE = "https://blog.alliedup.example"
ALIAS = "www.alliedup.example"


@pytest.fixture
def site_app(database_url):
    """The site at SITE, also answering to ALIAS; a post whose author wants comment emails."""
    with own_app(database_url, SITE_URL=SITE, SITE_ALIASES=[ALIAS]) as app:
        with app.app_context():
            writer = make_user("writer", role=Role.AUTHOR)
            make_user("carol")
            make_post(writer, title="Night shifts")
        yield app


class on:  # noqa: N801 - reads as "on(app, host).get(...)"
    """A test client whose requests carry this Host header (as a browser would send it)."""

    def __init__(self, app, host: str):
        self.client, self.base_url = app.test_client(), f"http://{host}"

    def get(self, path, **kwargs):
        return self.client.get(path, base_url=self.base_url, **kwargs)

    def post(self, path, **kwargs):
        return self.client.post(path, base_url=self.base_url, **kwargs)


def post_as(client, path: str, data: dict):
    data = {**data, "csrf_token": csrf_token(client, "/auth/reset")}
    return client.post(path, data=data)


def test_forged_host_gets_400_and_no_reset_mail(site_app):
    evil = on(site_app, "evil.example")
    assert evil.get("/").status_code == 400
    with record_mail(site_app) as outbox:
        response = evil.post("/auth/reset", data={"email": "carol@example.org"})
    assert response.status_code == 400
    assert outbox == []


def test_reset_link_points_at_site_url_whatever_host_asked(site_app):
    client = on(site_app, ALIAS)
    with record_mail(site_app) as outbox:
        post_as(client, "/auth/reset", {"email": "carol@example.org"})
    (message,) = outbox
    links = re.findall(r"https?://\S+", message.body)
    assert links and all(link.startswith(f"{SITE}/auth/reset/") for link in links)
    assert ALIAS not in message.body and ALIAS not in message.html


def test_confirmation_link_points_at_site_url_whatever_host_asked(site_app):
    client = on(site_app, ALIAS)
    with record_mail(site_app) as outbox:
        password = "a long enough passphrase"
        post_as(
            client,
            "/auth/register",
            {"username": "dana", "email": "dana@example.org", "password": password,
             "confirm": password},
        )  # fmt: skip
    (message,) = outbox
    links = re.findall(r"https?://\S+", message.body)
    assert links and all(link.startswith(f"{SITE}/auth/confirm/") for link in links), links
    assert ALIAS not in message.body and ALIAS not in message.html


def test_comment_emails_and_list_unsubscribe_point_at_site_url(site_app):
    client = on(site_app, ALIAS)
    with record_mail(site_app) as outbox:
        post_as(
            client,
            "/posts/night-shifts/comments",
            {"name": "Ana", "email": "ana@example.org", "body": "Thank you"},
        )
    (message,) = outbox
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) >= 3  # moderation links, queue, unsubscribe
    assert all(link.startswith(SITE + "/") for link in links), links
    assert message.extra_headers["List-Unsubscribe"].startswith(f"<{SITE}/comments/unsubscribe/")


@pytest.mark.parametrize(
    "path", ["/feed.xml", "/sitemap.xml", "/robots.txt", "/posts/night-shifts", "/"]
)
def test_feeds_sitemap_and_page_metadata_use_site_url(site_app, path):
    response = on(site_app, ALIAS).get(path)
    assert response.status_code == 200
    links = [html.unescape(link) for link in re.findall(r"https?://[^\s\"'<>]+", response.text)]
    ours = [link for link in links if urlsplit(link).hostname.endswith("alliedup.example")]
    assert ours, f"no absolute link on {path}"
    assert all(link.startswith(SITE) for link in ours), ours
    # Share links to other sites carry the page's address: SITE_URL's too.
    carried = [
        value
        for link in links
        for values in parse_qs(urlsplit(link).query).values()
        for value in values
        if "alliedup.example" in value
    ]
    assert all(SITE in value for value in carried), carried
    if path.startswith("/posts/"):
        assert carried  # the share links
        assert f'<link rel="canonical" href="{SITE}/posts/night-shifts">' in response.text
        assert f'"url": "{SITE}/posts/night-shifts"' in response.text  # JSON-LD


def test_links_are_built_without_a_request(site_app):
    """Commands and workers have no request: the same function gives the same link."""
    with site_app.app_context():
        assert absolute_url_for("auth.reset", token="t") == f"{SITE}/auth/reset/t"
        assert absolute_url_for("posts.detail", slug="x", _anchor="c-1").endswith("/posts/x#c-1")


def test_site_url_under_a_path_prefix(database_url):
    with own_app(database_url, SITE_URL="https://alliedup.example/blog/") as app:
        with app.app_context():
            assert absolute_url_for("posts.index") == "https://alliedup.example/blog/"
            assert absolute_url_for("discovery.feed") == "https://alliedup.example/blog/feed.xml"


def run_config(tmp_path, env: dict) -> subprocess.CompletedProcess:
    script = (
        "from flask import Flask\n"
        "import blogapp.config as c\n"
        f"app = Flask('x', instance_path={str(tmp_path)!r})\n"
        "c.load_config(app)\n"
        "print(app.config['SITE_URL'], sorted(app.config['TRUSTED_HOSTS']))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "k", **env},
        cwd=ROOT,
    )


def test_production_refuses_to_start_without_site_url(tmp_path):
    result = run_config(tmp_path, {"BLOG_ENV": "production"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration error: SITE_URL is missing (e.g. https://blog.alliedup.coop)"
    ]


def test_production_trusts_site_url_host_and_aliases_only(tmp_path):
    result = run_config(
        tmp_path,
        {"BLOG_ENV": "production", "SITE_URL": SITE, "SITE_ALIASES": f"{ALIAS}, old.example"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1) == [
        SITE,
        "['blog.alliedup.example', 'old.example', 'www.alliedup.example']\n",
    ]


def test_development_defaults_to_the_local_address(tmp_path):
    result = run_config(tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://127.0.0.1:5000 ")


@pytest.mark.parametrize("value", ["blog.example", "ftp://blog.example", "https://x/?a=1"])
def test_a_wrong_site_url_stops_with_its_name(tmp_path, value):
    result = run_config(tmp_path, {"SITE_URL": value})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Configuration error: SITE_URL must be")


@pytest.mark.parametrize("proxies, hsts", [(0, False), (1, True)])
def test_forwarded_https_counts_only_from_a_trusted_proxy(database_url, proxies, hsts):
    with own_app(database_url, SITE_URL=SITE, TRUSTED_PROXIES=proxies) as app:
        client = on(app, "blog.alliedup.example")
        response = client.get(
            "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        )
    assert response.status_code == 200
    assert ("Strict-Transport-Security" in response.headers) is hsts
