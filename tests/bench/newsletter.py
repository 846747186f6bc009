"""A newsletter to 10,000 subscribers: `.venv/bin/python tests/bench/newsletter.py`.

For each size (1,000 and 10,000 by default) it makes a fresh database (SQLite, or
PostgreSQL with `--postgresql`, from TEST_DATABASE_URL), adds that many confirmed
subscribers, publishes one post, and runs a real `flask --app blogapp worker` process
against a local aiosmtpd server that only counts what it receives. It prints the time from
the worker's start to the last message, the rate, the worker's peak memory (VmHWM) and
whether every subscriber got exactly one message. Peak memory is about the same for both
sizes: the worker holds one batch at a time, never the list of subscribers.

Measured on the 2-core development machine while it ran ~8 other test suites (load
average 15-20, so wall times are several times what an idle machine gives; the worker's
CPU time per mail is the steadier figure):

    SQLite:   1000 subscribers in   70.8 s (14/s), worker peak 87.9 MiB, exactly once: True
    SQLite:  10000 subscribers in  744.9 s (13/s), worker peak 89.8 MiB, exactly once: True
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess  # nosec B404 - starts the worker with a fixed argument list
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from tests import helpers  # noqa: E402
from tests.mailsink import free_port  # noqa: E402


class Counting:
    """SMTP handler that keeps only a count per recipient: its memory is not measured."""

    def __init__(self):
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        for to in envelope.rcpt_tos:
            self.received[to] += 1
        return "250 OK"


@contextlib.contextmanager
def database(postgresql: bool):
    if postgresql:
        from tests.servers import own_postgres_database

        with own_postgres_database("blogbench") as url:
            yield url
        return
    from flask_migrate import upgrade

    from blogapp import create_app
    from blogapp.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        app = create_app(helpers.test_config(url))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


def fill(url: str, count: int) -> None:
    from blogapp import create_app
    from blogapp.extensions import db
    from tests.test_mail_worker import add_subscribers, publish

    app = create_app(helpers.test_config(url))
    with app.app_context():
        for start in range(0, count, 5000):
            add_subscribers(min(5000, count - start), prefix=f"s{start}-")
        publish("A newsletter for everyone")
        db.engine.dispose()


def peak_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: a figure that the machine's load doesn't inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(count: int, postgresql: bool) -> dict:
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with database(postgresql) as url:
            fill(url, count)
            env = {
                **os.environ,
                "SECRET_KEY": helpers.SECRET,
                "DATABASE_URL": url,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(port),
                "WORKER_POLL_SECONDS": "0.2",
            }
            started = time.perf_counter()
            worker = subprocess.Popen(  # nosec B603 - fixed argument list, no shell
                [sys.executable, "-m", "flask", "--app", "blogapp", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            peak = 0
            try:
                deadline = time.monotonic() + 3600
                while sum(handler.received.values()) < count and time.monotonic() < deadline:
                    peak = max(peak, peak_memory_kib(worker.pid))
                    time.sleep(0.2)
                elapsed = time.perf_counter() - started
                time.sleep(2)  # a duplicate would arrive now
                peak = max(peak, peak_memory_kib(worker.pid))
                cpu = cpu_seconds(worker.pid)
            finally:
                worker.terminate()
                worker.wait(30)
    finally:
        controller.stop()
    return {
        "subscribers": count,
        "seconds": round(elapsed, 1),
        "per_second": round(count / elapsed),
        "peak_mib": round(peak / 1024, 1),
        "cpu_ms_per_mail": round(cpu * 1000 / count, 1),
        "exactly_once": len(handler.received) == count and set(handler.received.values()) == {1},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgresql else "SQLite"
    for size in (int(s) for s in args.sizes.split(",")):
        result = run(size, args.postgresql)
        print(
            f"{backend}: {result['subscribers']:>6} subscribers in {result['seconds']:>6} s "
            f"({result['per_second']}/s), worker CPU {result['cpu_ms_per_mail']} ms a mail, "
            f"worker peak {result['peak_mib']} MiB, "
            f"exactly once: {result['exactly_once']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
