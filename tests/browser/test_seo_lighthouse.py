"""Lighthouse's SEO audit scores 100 on the home page and a post (npm lighthouse 12.2.3).

Install once with `npm ci --prefix tests/seo` (or set LIGHTHOUSE to a lighthouse binary).
Outside CI the test skips when Lighthouse or Chromium is missing; in CI it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.servers import missing

pytestmark = pytest.mark.slow
LOCAL_LIGHTHOUSE = Path(__file__).parent.parent / "seo" / "node_modules" / ".bin" / "lighthouse"


def lighthouse_binary() -> str:
    found = os.environ.get("LIGHTHOUSE") or (
        str(LOCAL_LIGHTHOUSE) if LOCAL_LIGHTHOUSE.exists() else shutil.which("lighthouse")
    )
    problem = None if found else "Lighthouse not installed (npm ci --prefix tests/seo)"
    if not CHROMIUM.exists():
        problem = f"Chromium not installed at {CHROMIUM}"
    if problem:
        missing(problem)
    return found


def audit(binary: str, url: str, out: Path) -> dict:
    subprocess.run(
        [
            binary,
            url,
            "--only-categories=seo",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
            f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
        ],
        env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        check=True,
        timeout=180,
    )
    return json.loads(out.read_text())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_home_and_post_score_100_for_seo(live_server, runner, tmp_path):
    binary = lighthouse_binary()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    for path in ("/", "/posts/empathy-in-action-fostering-patient-trust"):
        report = audit(binary, live_server + path, tmp_path / "report.json")
        failed = [
            audit["title"]
            for audit in report["audits"].values()
            if audit["scoreDisplayMode"] == "binary" and audit["score"] == 0
        ]
        assert report["categories"]["seo"]["score"] == 1, (path, failed)
