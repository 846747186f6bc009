"""The six kinds of visitor the member tests check every route against, signed in over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask

from blogapp import create_app
from blogapp.extensions import db
from blogapp.models import Role, User
from tests import helpers
from tests.builders import make_user

ROLES = ["anonymous", "unconfirmed", "member", "author", "admin", "suspended"]


def sign_in_as(app, client, auth, who: str) -> int | None:
    """Make a user of that kind, sign the client in as them; returns the user's id."""
    if who == "anonymous":
        return None
    with app.app_context():
        role = {"author": Role.AUTHOR, "admin": Role.ADMIN}.get(who, Role.MEMBER)
        user = make_user(role=role, confirmed=who != "unconfirmed")
        user_id, username = user.id, user.username
    response = auth.login(username)
    assert response.status_code == 302, response.text
    if who == "suspended":
        # Suspended after signing in: the session they hold must stop working.
        with app.app_context():
            user = db.session.get(User, user_id)
            user.suspended = True
            db.session.commit()
    return user_id


@contextlib.contextmanager
def own_app(database_url: str, **config) -> Iterator[Flask]:
    """An app with settings of the test's own, leaving the database empty afterwards."""
    app = create_app(helpers.test_config(database_url, **config))
    try:
        yield app
    finally:
        helpers.empty_tables(app)
