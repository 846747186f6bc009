"""Does gc.freeze() after start-up help? `.venv/bin/python tests/bench/gc_freeze.py`.

Fills a SQLite blog as tests/bench/run.py does, then measures a signed-in member's home
and 300-comment post under gunicorn (4 sync workers, wrk -t2 -c16) with GC_FREEZE=true and
off, alternating three times so that a busy machine's drift falls on both alike, and
prints each round and the medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.run import MEMBER_PAGES, Server, blog_env, fill, load, member_headers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="blog-gc-"))
    url = f"sqlite:///{work / 'bench.sqlite3'}"
    fill(url)
    headers = member_headers(url)
    rates: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for freeze in ("true", "false"):
            env = {**blog_env(url, work / "generation", cache=True), "GC_FREEZE": freeze}
            server = Server("tests.bench.bench_wsgi:app", env, work / "gunicorn.log")
            try:
                for page, path in MEMBER_PAGES.items():
                    load(server.url + path, 1, headers=headers)
                    rate = load(server.url + path, args.duration, headers=headers).rate
                    rates.setdefault((page, freeze), []).append(rate)
                    print(f"round {round_ + 1} freeze={freeze:5} {page:20} {rate:8.0f} req/s")
            finally:
                server.stop()
    print()
    for page in MEMBER_PAGES:
        on, off = (statistics.median(rates[(page, f)]) for f in ("true", "false"))
        print(f"{page:20} frozen {on:7.0f} req/s, not frozen {off:7.0f} req/s: x{on / off:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
