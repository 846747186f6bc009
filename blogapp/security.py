"""Response headers that make the browser enforce what the templates promise."""

from flask import Flask, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

# No 'unsafe-inline' anywhere: templates carry no inline script, style attribute or on* handler.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto only from the TRUSTED_PROXIES hops in front of us.

    With 0 (the default) the headers are ignored: anyone can send them, and believing them
    would let a client claim HTTPS or another address (rate limits count addresses).
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def refuse_nul_bytes():
    """NUL is never meaningful in a URL or form, and PostgreSQL text can't hold it: 400."""
    values = [request.path, *request.args.values()]
    if request.method == "POST" and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400, "The request contained a NUL character.")


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers every response carries (HSTS only over HTTPS)."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def set_security_headers(response):
    for name, value in security_headers(request.is_secure):
        response.headers.setdefault(name, value)
    return response
