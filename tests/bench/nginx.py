"""nginx as a caching reverse proxy in front of a server: tests/bench/nginx.conf, started here.

Used by the benchmark and by tests/test_shared_cache_nginx.py. Debian's nginx
(`apt-get install -y nginx`); :func:`nginx_binary` says where it is, or None.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess  # nosec B404 - starts nginx with a fixed argument list
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CONFIG = Path(__file__).with_name("nginx.conf")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)),
        None,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def caching_proxy(upstream: str, bypass_cookies: bool = True) -> Iterator[str]:
    """nginx on a free local port, caching in front of upstream ("127.0.0.1:PORT").

    Yields its base URL; stops it (by its own process id) and removes its folder after.
    bypass_cookies=False drops the config's cookie bypass, so that only the app's headers
    decide what is stored (the tests use it to show those alone keep people's pages out).
    """
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install -y nginx)")
    work = Path(tempfile.mkdtemp(prefix="blog-nginx-"))
    # Run as root, nginx's workers drop to "nobody": they must be able to write the cache.
    work.chmod(0o777)
    port = _free_port()
    config = CONFIG.read_text()
    for name, value in {"@WORK@": str(work), "@UPSTREAM@": upstream, "@PORT@": str(port)}.items():
        config = config.replace(name, value)
    if not bypass_cookies:
        config = "\n".join(line for line in config.splitlines() if "$http_cookie" not in line)
    (work / "nginx.conf").write_text(config)
    log = open(work / "stderr.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # nosec B603 - fixed argument list, no shell
        [binary, "-c", str(work / "nginx.conf"), "-p", str(work), "-e", str(work / "error.log")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                errors = (work / "error.log").read_text() if (work / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start: {errors[-2000:]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()  # SIGTERM to the master: it stops its workers
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
