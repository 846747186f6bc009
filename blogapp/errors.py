"""Error pages in the site's look; a database outage is a 503, never a traceback."""

import logging

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    render_template,
    request,
    session,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, SecurityError

from .extensions import db, login_manager

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(UnicodeError, bad_encoding)
    app.register_error_handler(Exception, server_error)


def render_error(status: int, message: str = "", headers: dict | None = None):
    if isinstance(request.routing_exception, SecurityError):
        # A Host outside TRUSTED_HOSTS: no URL can be built for it, so no page; a short answer.
        text = f"{status} {TITLES.get(status, 'Error')}: this site does not answer to that host."
        return Response(text, status, headers, mimetype="text/plain")
    if "_user_id" in session:  # a signed-in person's page (their name, their token)
        headers = {**(headers or {}), "Cache-Control": "private, no-cache"}
    wants_json = request.path == "/healthz" or (request.accept_mimetypes.best == "application/json")
    if wants_json:
        response = jsonify(error=TITLES.get(status, "Error"), status=status)
    else:
        # A missing page gets its own, in the site's words, with search and ways on (issue 17).
        template = "errors/404.html" if status == 404 else "errors/error.html"
        response = render_template(
            template, status=status, title=TITLES.get(status, "Error"), message=message
        )
    return response, status, headers or {}


AGAIN = "Your form had expired, so nothing was saved. Check it and send it again."


def form_again_on_csrf_failure(view):
    """Mark a view whose form comes back as typed (with a fresh token) on a CSRF failure.

    An hour of writing, a lost cookie or a second tab must not throw the text away. The
    view must validate its form (token included) before it changes anything: on a
    failure it is simply run again, finds its form invalid and shows it as sent.
    """
    view.form_again_on_csrf_failure = True
    return view


def csrf_failed(error: CSRFError):
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "form_again_on_csrf_failure", False):
        return http_error(error)
    flash(AGAIN, "error")
    try:
        return current_app.ensure_sync(view)(**(request.view_args or {}))
    except HTTPException as refusal:  # raised inside an error handler: answer it here
        return http_error(refusal)


def http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    headers = {}
    if error.code == 429 and error.response is not None:
        headers = {"Retry-After": error.response.headers.get("Retry-After", "60")}
    elif error.code == 429:
        headers = {"Retry-After": str(getattr(error, "retry_after", None) or 60)}
    if error.code == 405:
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
    message = error.description if error.code != 500 else ""
    if error.code == 404 and message == NotFound.description:
        message = ""  # Werkzeug's own words; the 404 page says it in ours
    return render_error(error.code, message, headers)


def database_unavailable(error: Exception):
    log.error("database unavailable: %s", error.__class__.__name__)
    g.database_down = True  # the error page must not touch the database again
    if "_login_user" not in g:  # nor load the signed-in user for the page header
        g._login_user = login_manager.anonymous_user()
    _rollback_quietly()
    return render_error(
        503, "The blog's database can't be reached right now.", {"Retry-After": "30"}
    )


def database_error(error: DBAPIError):
    if error.connection_invalidated:
        return database_unavailable(error)
    return server_error(error)


def bad_encoding(error: UnicodeError):
    return render_error(400, "The request was not valid UTF-8.")


def server_error(error: Exception):
    if isinstance(error, HTTPException):
        return http_error(error)
    log.exception("unhandled error", exc_info=error)
    _rollback_quietly()
    return render_error(500, InternalServerError.description)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        log.warning("rollback failed while handling an error")
