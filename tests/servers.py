"""Real servers for system tests: a threaded server, gunicorn, a throwaway PostgreSQL cluster.

Used by the outage, concurrency and two-server tests. Everything here binds free local
ports and cleans up after itself; nothing touches the shared PostgreSQL cluster's process.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404 - starts test servers with fixed argument lists
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CSRF_META_OR_INPUT = re.compile(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"')


def missing(what: str) -> None:
    """Fail in CI (nothing may skip there), skip elsewhere, saying what is missing."""
    if IN_CI:
        pytest.fail(f"required in CI: {what}")
    pytest.skip(what)


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_missing():
    """A client for the tests' Redis; missing() when it doesn't answer."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        missing(f"Redis not reachable at TEST_REDIS_URL ({error})")
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def threaded_server(app: Flask) -> Iterator[str]:
    """The app on a free port, served by werkzeug in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # The server's own address is the site's (links, and the Host every request carries).
    app.config["SITE_URL"] = url
    app.config["TRUSTED_HOSTS"] = [*(app.config.get("TRUSTED_HOSTS") or []), "127.0.0.1"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def started(
    command: list[str], env: dict[str, str], *, output=None, stop: int = signal.SIGTERM
) -> Iterator[subprocess.Popen]:
    """command as a process of the test's own, in the project folder, ended at the end.

    Ended with stop (then killed if it lingers past 15 s). Its output goes to output (an
    open file) when given; otherwise it is kept, and its end printed when it holds a
    traceback (pytest shows that when the test fails).
    """
    log = output or tempfile.TemporaryFile()
    process = subprocess.Popen(  # nosec B603 - fixed argument lists, no shell
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if output is None:
            log.seek(0)
            text = log.read().decode(errors="replace")
            log.close()
            if "Traceback" in text:
                print(text[-5000:])


def wait_until_up(url: str, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            requests.get(url + "/healthz", timeout=5)
            return
        except requests.RequestException:  # not listening yet, or still booting workers
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 4, threads: int = 1, app: str = "wsgi:app"
) -> Iterator[str]:
    """`gunicorn wsgi:app` with the given environment, on a free port; yields its base URL.

    app may name the factory with literal settings instead, for example
    "blogapp:create_app({'COMMENT_MIN_SECONDS': 0})".
    """
    binary = Path(sys.executable).parent / "gunicorn"
    if not binary.exists():
        missing("gunicorn is not installed in the virtualenv")
    port = free_port()
    # Production needs its address; here that is the server's own.
    # Staff sign in with a password alone, as in helpers.test_config (the tests about
    # two-factor enrolment turn it on themselves).
    full_env = {
        **os.environ,
        "BLOG_ENV": "production",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "TWO_FACTOR_REQUIRED_ROLES": "",
    }
    full_env.update(env)
    command = [
        str(binary),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        app,
    ]
    url = f"http://127.0.0.1:{port}"
    with started(command, full_env) as process:
        wait_until_up(url, process=process)
        yield url


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for a gunicorn-served app: the test secret, no rate limit unless asked."""
    return {
        "SECRET_KEY": helpers.SECRET,
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": "false",
        "PAGE_CACHE_ENABLED": "false",
        **extra,
    }


class Browser:
    """A requests session that signs in and posts forms with CSRF tokens, like a person."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()
        self.http.trust_env = False  # never a proxy from the environment

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.base + path, **kwargs)

    def token(self, path: str = "/auth/login") -> str:
        page = self.get(path)
        match = CSRF_META_OR_INPUT.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def post(self, path: str, data: dict, token: str | None = None, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        data = {"csrf_token": token or self.token(), **data}
        return self.http.post(self.base + path, data=data, **kwargs)

    def login(self, login: str, password: str | None = None) -> requests.Response:
        from tests.builders import PASSWORD

        response = self.post("/auth/login", {"login": login, "password": password or PASSWORD})
        assert response.status_code == 302, f"sign-in failed: {response.status_code}"
        return response


# --- A PostgreSQL cluster of the test's own -------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, run as the postgres user."""

    def __init__(self):
        bindir = postgres_bin()
        if bindir is None or shutil.which("runuser") is None or os.geteuid() != 0:
            missing("a throwaway PostgreSQL cluster needs initdb, runuser and root")
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="blog-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/blog"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(  # nosec B603 - fixed argument list, no shell
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def create(self) -> None:
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE blog")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def own_postgres_database(prefix: str = "blogsys") -> Iterator[str]:
    """A migrated database of its own on the shared test server, dropped afterwards."""

    from tests.conftest import PG_URL, _pg_reachable

    if problem := _pg_reachable():
        missing(f"PostgreSQL not reachable at TEST_DATABASE_URL ({problem})")
    name = f"{prefix}_{os.urandom(5).hex()}"
    template = _migrated_template()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database_url(name)
    finally:
        _drop_database(name)


def _database_url(name: str) -> str:
    from tests.conftest import PG_URL

    return PG_URL.rsplit("/", 1)[0] + "/" + name


def _drop_database(name: str) -> None:
    from tests.conftest import PG_URL

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def _migrated_template() -> str:
    """A database migrated once per process and never used: each own database is a copy
    of it (CREATE DATABASE ... TEMPLATE takes well under a second; migrating takes several)."""
    from flask_migrate import upgrade

    from blogapp import create_app
    from blogapp.extensions import db
    from tests.conftest import PG_URL

    name = f"blogtemplate_{os.urandom(5).hex()}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop_database, name)
    app = create_app(helpers.test_config(_database_url(name)))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return name
