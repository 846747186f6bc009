"""Cache-Control: what a shared cache (nginx in front, a CDN) may keep, and for how long.

A page the page cache could share between anonymous readers — a view marked public, no
per-visitor token, nothing personal in the session, no cookie set — is the same bytes for
every such reader, so a proxy may keep it too: ``public, max-age=0, s-maxage=N,
stale-while-revalidate=M``. Browsers revalidate it every time (``max-age=0``: their copy
is theirs alone and changes must show at once); a shared cache keeps it ``N`` seconds,
then for ``M`` more serves it while it asks again with the ETag (usually a 304 from the
page cache). A change therefore shows through the proxy within about ``N + M`` seconds
(``SHARED_CACHE_SECONDS`` and ``SHARED_CACHE_STALE_SECONDS``, 1 and 1); 0 turns it off
(``no-cache``, as before).

Everything else is ``private``: a signed-in reader's page, a page with their token or
held comment, and — whatever set it, wherever — any response that sets a cookie (the
session interface below marks it, as the very last thing before the answer leaves).
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


def init_app(app: Flask) -> None:
    app.config.setdefault("SHARED_CACHE_SECONDS", 1)
    app.config.setdefault("SHARED_CACHE_STALE_SECONDS", 1)
    app.session_interface = CookiesArePrivate()


def allow_shared(response, config) -> None:
    """Let shared caches keep this page briefly; browsers revalidate it each time."""
    control = response.cache_control
    seconds = int(config["SHARED_CACHE_SECONDS"])
    if seconds <= 0:
        control.no_cache = True
        return
    control.public = True
    control.max_age = 0
    control.s_maxage = seconds
    stale = int(config["SHARED_CACHE_STALE_SECONDS"])
    if stale > 0:
        control.stale_while_revalidate = stale


def keep_private(response) -> None:
    """No shared cache may keep this answer; browsers revalidate it."""
    control = response.cache_control
    control.public = False
    control.s_maxage = None
    control.stale_while_revalidate = None
    control.private = True
    if not control.no_store and control.max_age is None:
        control.no_cache = True


class CookiesArePrivate(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; an answer that sets any cookie is made private.

    Saving the session is the last step of every Flask answer, after every after-request
    hook (Flask-Login's remember cookie included), so every cookie is known here.
    """

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if "Set-Cookie" in response.headers:
            keep_private(response)
