"""Static fingerprints: ``/static/...?v=<content hash>`` URLs, cached for a year."""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app, request

STATIC_MAX_AGE = 31536000
_static_versions: dict[str, tuple[float, str]] = {}


def init_app(app: Flask) -> None:
    app.url_defaults(_fingerprint_static)
    app.after_request(_static_lifetime)


def static_version(filename: str) -> str | None:
    """A short hash of a static file's content (recomputed when the file changes)."""
    folder = current_app.static_folder
    if not folder:
        return None
    path = os.path.join(folder, filename)
    try:
        mtime = os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    known = _static_versions.get(path)
    if known is not None and known[0] == mtime:
        return known[1]
    with open(path, "rb") as handle:
        version = hashlib.blake2b(handle.read(), digest_size=6).hexdigest()
    _static_versions[path] = (mtime, version)
    return version


def _fingerprint_static(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def _static_lifetime(response):
    """A year, immutable, for a URL naming the file's current content; revalidate otherwise."""
    if request.endpoint != "static":
        return response
    filename = (request.view_args or {}).get("filename", "")
    version = request.args.get("v")
    if response.status_code in (200, 304) and version and version == static_version(filename):
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_MAX_AGE
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    return response
