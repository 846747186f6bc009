"""Browser tests: the app served by a real HTTP server in a thread, driven by Chromium.

Debian's Chromium at /usr/bin/chromium (Playwright's own browser download does not work
here). In CI it must exist; elsewhere the browser tests skip, saying why.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.mailsink import smtp_server

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI and is missing at {CHROMIUM}")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def inbox():
    """A local SMTP server that keeps what it receives (its port as inbox.port)."""
    with smtp_server() as (received, port):
        received.port = port
        yield received


@pytest.fixture
def live_server(app):
    """The test's app on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    # Links point where the browser is, and that host is one the app accepts.
    app.config["SITE_URL"] = url
    app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], "127.0.0.1"]
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(page, live_server):
    """A page that fails the test on any console error or CSP violation."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.set_default_timeout(10_000)
    page.problems = problems
    yield page
    assert not problems, f"browser reported: {problems}"
