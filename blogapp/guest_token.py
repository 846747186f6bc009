"""The guest token: a form token for guests' forms on shared pages, tied to no session.

Why not Flask-WTF's token there: it signs a secret kept in the visitor's session, so a page
carrying it is made for one visitor. Every cookieless visitor then needs a session cookie
just to see a post (no shared cache may keep the page), and two tabs opened at once by
such a visitor each start a session: the cookie of the second wins and the first tab's
first press fails.

So the guest comment and reply forms carry, on a GET by someone not signed in, a value
signed with SECRET_KEY under this module's own salt that names the current time window
(``GUEST_TOKEN_WINDOW`` seconds): the same bytes for everyone within a window, so pages stay
shareable, and valid for ``GUEST_TOKEN_MAX_AGE`` seconds, so a comment typed slowly still
posts. Anyone can read it off a public page, so it proves only that the form is ours and
recent; what stops cross-site forgery is the request's origin. It is accepted only when

1. nobody is signed in on the request (a member's POSTs always need their session's token,
   so a forged cross-site form can never act as them);
2. its signature and window are valid (not forged, not expired, not from the future);
3. the browser says the POST comes from this site: ``Sec-Fetch-Site: same-origin``, or, from
   a browser that doesn't send Fetch Metadata, an ``Origin`` equal to SITE_URL's origin.
   A POST with neither header is refused here: every current browser sends ``Origin`` on a
   form POST, so only old browsers and scripts lack both, and they still post by the usual
   route (the form comes back with a session token, and that posts).

Anything else falls back to Flask-WTF's own check of the session's token, so nothing that
posted before stops posting. Views opt in with :func:`guest_form`; every other form
(sign-in, register, account, admin) keeps Flask-WTF's session token alone.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import BadData, URLSafeSerializer
from wtforms.csrf.core import CSRF

from .extensions import csrf
from .links import site_origin

SALT = "guest-form-token"
TOKEN_MAX_LENGTH = 200  # ours are about 30 characters; anything long is not one


def init_app(app: Flask) -> None:
    app.config.setdefault("GUEST_TOKEN_WINDOW", 600)
    app.config.setdefault("GUEST_TOKEN_MAX_AGE", 4 * 3600)
    app.extensions["guest_token"] = URLSafeSerializer(app.secret_key, salt=SALT)
    app.before_request(protect)


def _window() -> int:
    return int(time.time() // current_app.config["GUEST_TOKEN_WINDOW"])


def issue() -> str:
    """The current window's guest token (the same for every visitor until the window ends)."""
    return current_app.extensions["guest_token"].dumps(_window())


def valid(token: str | None) -> bool:
    """True for a guest token that this site signed and whose window has not passed."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return False
    try:
        window = current_app.extensions["guest_token"].loads(token)
    except BadData:
        return False
    if type(window) is not int:
        return False
    config = current_app.config
    age = _window() - window
    # -1: another server whose clock is a little ahead may have just begun the next window.
    return -1 <= age <= config["GUEST_TOKEN_MAX_AGE"] // config["GUEST_TOKEN_WINDOW"]


def same_origin() -> bool:
    """The browser says this request comes from a page of this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and origin.lower() == site_origin()


def accepted() -> bool:
    """This POST carries a guest token the site may take in place of a session's token."""
    if current_user.is_authenticated:
        return False
    token = request.form.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    return valid(token) and same_origin()


def guest_form(view):
    """Let this view's form be sent with the guest token (see the module's docstring).

    The view is taken out of Flask-WTF's own before-request check, and :func:`protect`
    checks it instead: the guest token when it is accepted, else Flask-WTF's check.
    """
    view.accepts_guest_token = True
    return csrf.exempt(view)


def protect() -> None:
    """Before a guest-form view runs: a good guest token, or else Flask-WTF's usual check."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if not getattr(view, "accepts_guest_token", False):
        return
    config = current_app.config
    if not (config["WTF_CSRF_ENABLED"] and config["WTF_CSRF_CHECK_DEFAULT"]):
        return
    if request.method not in config["WTF_CSRF_METHODS"]:
        return
    if accepted():
        g.csrf_valid = True  # what Flask-WTF sets once it checked: the form trusts it
        return
    csrf.protect()  # raises CSRFError (the form comes back as typed) unless the session's


def page_may_be_shared() -> bool:
    """A GET by someone not signed in: the form it shows carries the guest token."""
    return request.method in ("GET", "HEAD") and not current_user.is_authenticated


class GuestFormCSRF(CSRF):
    """Flask-WTF's form token, but the guest token on a page that may be shared.

    An answer to a POST (the form back after an error) carries the session's token
    instead: it is one visitor's page anyway, and it lets a browser that sends neither
    ``Origin`` nor ``Sec-Fetch-Site`` post on its second press.
    """

    def setup_form(self, form):
        self.meta = form.meta
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field):
        if page_may_be_shared():
            return issue()
        return generate_csrf(self.meta.csrf_secret, self.meta.csrf_field_name)

    def validate_csrf_token(self, form, field):
        if g.get("csrf_valid", False):
            return  # checked before the view ran (protect, or Flask-WTF's own hook)
        validate_csrf(
            field.data, self.meta.csrf_secret, self.meta.csrf_time_limit, self.meta.csrf_field_name
        )
