"""Flask's ceiling: a bare app answering with the blog's page bytes held in memory."""

import os
from pathlib import Path

from flask import Flask, Response

# BENCH_PAGES_DIR holds one file per blog page (as the blog served it); read once at start.
PAGES = {path.name: path.read_bytes() for path in Path(os.environ["BENCH_PAGES_DIR"]).iterdir()}
app = Flask(__name__)


@app.get("/<name>")
def page(name: str):
    return Response(PAGES[name], mimetype="text/html")
