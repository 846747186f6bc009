"""The WSGI fast path: a cached page for a visitor with no cookies, before Flask runs."""

from __future__ import annotations

import secrets
from http import HTTPStatus

from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import dump_cookie

from .answer import cached_answer
from .store import PageCache, page_key

STATUS_LINES = {code: f"{code} {HTTPStatus(code).phrase.upper()}" for code in (200, 304)}


class FastHits:
    """WSGI layer that answers a cache hit for a cookieless GET before Flask runs.

    A request with no cookies at all has no session and no remember-me cookie: nobody is
    signed in and nothing personal can be on the page, so the stored bytes are the answer.
    Entries exist only for views marked public that the Flask path stored, so this layer
    needs no routing.

    A page with a form (the comment form) needs the visitor's own CSRF token. A cookieless
    visitor has no session yet, so this layer starts one exactly as Flask-WTF's
    ``generate_csrf()`` would: a random secret in a new signed session cookie (made by the
    app's own session interface) and, in the page, that secret signed with Flask-WTF's
    serializer and salt. Posting the form then goes through Flask-WTF's own validation, so
    nothing here decides whether a token is good. Any other visitor — one with a session
    already — goes through Flask (``pages.serve_from_cache``), which reuses their secret.
    """

    def __init__(self, app: Flask, cache: PageCache, wsgi_app):
        self.app = app
        self.cache = cache
        self.wsgi_app = wsgi_app
        self.token_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self.token_signer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")  # Flask-WTF's
        self.session_signer = app.session_interface.get_signing_serializer(app)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD") and not environ.get("HTTP_COOKIE"):
            generation, entry = self.cache.lookup(page_key(environ))
            if generation and entry is not None:
                secret = token = None
                if entry.has_token:
                    secret = secrets.token_hex(20)  # the shape of Flask-WTF's own (40 hex digits)
                    token = self.token_for(secret)
                status, headers, body = cached_answer(entry, environ, token, secret or "", True)
                if secret is not None:
                    # A new visitor can't hold this page's ETag yet: this is never a 304.
                    headers.append(("Set-Cookie", self._session_cookie(secret)))
                start_response(STATUS_LINES[status], headers)
                return [b""] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)

    def token_for(self, secret: str) -> bytes:
        return self.token_signer.dumps(secret).encode()

    def _session_cookie(self, secret: str) -> str:
        """A new session holding only a CSRF secret, made as Flask's session interface would."""
        app, interface = self.app, self.app.session_interface
        fresh = interface.session_class({self.token_field: secret})
        return dump_cookie(
            interface.get_cookie_name(app),
            self.session_signer.dumps(dict(fresh)),
            expires=interface.get_expiration_time(app, fresh),
            httponly=interface.get_cookie_httponly(app),
            domain=interface.get_cookie_domain(app),
            path=interface.get_cookie_path(app),
            secure=interface.get_cookie_secure(app),
            samesite=interface.get_cookie_samesite(app),
        )
