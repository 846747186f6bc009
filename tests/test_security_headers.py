"""Headers on every response, request limits, and bad bytes: never a 500."""

import pytest

CSP_PARTS = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]


@pytest.mark.parametrize(
    "path", ["/", "/no-such-page", "/healthz", "/auth/login", "/static/css/site.css"]
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_templates_have_no_inline_script_or_style(client):
    import re
    from pathlib import Path

    templates = Path(__file__).parent.parent / "blogapp" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)", text), path
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path


def test_request_body_over_limit_gets_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/auth/login", data={"login": "x" * 5000})
    assert response.status_code == 413
    assert "Too large" in response.text


def test_post_without_csrf_is_refused(client):
    response = client.post("/auth/login", data={"login": "someone", "password": "x" * 12})
    assert response.status_code == 400
    assert "CSRF" in response.text


def test_bad_utf8_in_form_is_not_a_500(client):
    from tests.helpers import csrf_token

    token = csrf_token(client)
    body = b"csrf_token=" + token.encode() + b"&login=%ff%fe%fd&password=abc"
    response = client.post(
        "/auth/login", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (200, 400)


def test_nul_byte_in_form_is_a_400(client):
    from tests.helpers import post_form

    response = post_form(client, "/auth/login", {"login": "a\x00b", "password": "x" * 12})
    assert response.status_code == 400


def test_session_cookie_flags(client, ctx):
    from tests.builders import PASSWORD as PASSWORD_FOR_TESTS
    from tests.builders import make_user
    from tests.helpers import post_form

    user = make_user()
    response = post_form(
        client,
        "/auth/login",
        {"login": user.username, "password": PASSWORD_FOR_TESTS, "remember": "y"},
    )
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember and "SameSite=Lax" in remember


def test_secure_cookies_when_configured(app, client, ctx):
    from tests.builders import PASSWORD as PASSWORD_FOR_TESTS
    from tests.builders import make_user
    from tests.helpers import CSRF_INPUT

    app.config["SESSION_COOKIE_SECURE"] = True
    user = make_user()
    page = client.get("/auth/login", base_url="https://localhost").text
    token = CSRF_INPUT.search(page).group(1)
    response = client.post(
        "/auth/login",
        data={"login": user.username, "password": PASSWORD_FOR_TESTS, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/auth/login"},  # Flask-WTF checks it over HTTPS
    )
    assert response.status_code == 302
    session_cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    )
    assert "Secure" in session_cookie
