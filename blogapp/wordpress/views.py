"""Old WordPress addresses: a request nothing else answers may be one; 301 to its new home."""

from flask import redirect, request
from sqlalchemy.exc import SQLAlchemyError

from .. import errors
from ..extensions import db
from . import bp, redirects


@bp.app_errorhandler(404)
def old_address(error):
    """Asked only when no page answered, so an old address can never hide a live page."""
    if request.method in ("GET", "HEAD"):
        try:
            target = redirects.for_missing_path(request.path)
        except SQLAlchemyError:  # the database is down: the plain 404 is the honest answer
            db.session.rollback()
            target = None
        if target:
            return redirect(target, 301)
    return errors.http_error(error)
