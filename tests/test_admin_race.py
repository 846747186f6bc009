"""The last-admin rule under races: two admins acting on each other at the same moment.

Two real HTTP requests at once, against a threaded server on PostgreSQL (where requests
really run side by side), ten times over: there is always an admin left.
"""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from blogapp.extensions import db
from blogapp.models import Role, User
from tests.builders import PASSWORD, make_user

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TRIALS = 10


@pytest.fixture
def server(app):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SITE_URL"] = f"http://127.0.0.1:{srv.server_port}"
    app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], "127.0.0.1"]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=5)


def signed_in(base: str, login: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    http.trust_env = False
    token = TOKEN.search(http.get(base + "/auth/login", timeout=10).text).group(1)
    response = http.post(
        base + "/auth/login",
        data={"login": login, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    return http, TOKEN.search(http.get(base + "/admin/users", timeout=10).text).group(1)


def at_once(*calls) -> list[int]:
    """Run the calls in threads released together; their status codes."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(n, call):
        barrier.wait()
        results[n] = call().status_code

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("action", ["demote", "suspend"])
def test_two_admins_acting_on_each_other_at_once_leave_an_admin(app, server, action):
    with app.app_context():
        ids = [make_user(name, role=Role.ADMIN).id for name in ("ada", "bea")]
    clients = [signed_in(server, name) for name in ("ada", "bea")]

    def act(me: int, other: int):
        http, token = clients[me]
        path = {"demote": "role", "suspend": "suspend"}[action]
        return lambda: http.post(
            f"{server}/admin/users/{ids[other]}/{path}",
            data={"role": "member", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )

    for _ in range(TRIALS):
        with app.app_context():
            db.session.execute(
                update(User).where(User.id.in_(ids)).values(role=Role.ADMIN, suspended=False)
            )
            db.session.commit()
        if action == "suspend":  # suspension ends sessions: sign in afresh each trial
            clients[:] = [signed_in(server, name) for name in ("ada", "bea")]
        statuses = at_once(act(0, 1), act(1, 0))
        assert all(code in (302, 401, 403) for code in statuses), statuses  # 401: suspended
        with app.app_context():
            admins = db.session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.role == Role.ADMIN, User.suspended.is_(False))
            )
        assert admins >= 1
