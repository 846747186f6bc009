"""The old site's media library: each attachment found in a copy of its wp-content/uploads,
stored through the cover-image pipeline (blogapp.uploads: decoded, re-encoded, metadata
stripped, display sizes), and every reference to it in posts rewritten to the new file.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import uploads
from .redirects import UPLOADS, upload_file
from .wxr import Item

_ATTRIBUTE = re.compile(
    r"""(?P<lead>\s(?:src|href|srcset|data-src|data-full-url|data-link)\s*=\s*)"""
    r"""(?P<quote>["'])(?P<value>.*?)(?P=quote)""",
    re.I | re.S,
)
_SIZE = re.compile(r"-(?P<width>[0-9]{1,5})x[0-9]{1,5}(?=\.[A-Za-z0-9]{1,5}$)")


def attachment_file(item: Item) -> str | None:
    """Its path under wp-content/uploads, lower-cased: the key old URLs are matched by."""
    attached = item.meta.get("_wp_attached_file", "").strip().lstrip("/")
    if attached:
        return attached.lower()
    if found := upload_file(item.attachment_url):
        return found
    path = unquote(urlsplit(item.attachment_url).path).strip("/")  # media on another host
    return path.lower() or None


def find(media_dir: Path, item: Item) -> Path | None:
    """The attachment's file in the uploads copy, by _wp_attached_file or its URL."""
    root = media_dir.resolve()
    url_path = unquote(urlsplit(item.attachment_url).path)
    candidates = [item.meta.get("_wp_attached_file", "")]
    if UPLOADS in url_path.lower():
        candidates.append(url_path[url_path.lower().index(UPLOADS) + len(UPLOADS) :])
    candidates += [url_path.strip("/"), url_path.rsplit("/", 1)[-1]]
    for candidate in candidates:
        candidate = candidate.strip().lstrip("/")
        if not candidate:
            continue
        path = (root / candidate).resolve()
        # Never outside the folder given: a crafted _wp_attached_file ("../../etc/x") stops here.
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def store(path: Path, upload_dir: str, max_bytes: int) -> str:
    """The file through the upload pipeline; its stored name (UploadError if refused)."""
    with path.open("rb") as handle:
        return uploads.save_image(handle, upload_dir, max_bytes)


def sizes(name: str) -> list[tuple[int, str]]:
    """The stored copies of an upload as (width, name), narrowest first."""
    pairs = []
    for candidate in uploads.srcset(name, lambda n: n).split(", "):
        if candidate:
            copy, width = candidate.rsplit(" ", 1)
            pairs.append((int(width.rstrip("w")), copy))
    return sorted(pairs) or [(0, name)]


class MediaMap:
    """Old media URLs -> new upload URLs, for rewriting post content.

    Built in the main process and handed to the workers that render posts, so it holds only
    plain values (picklable).
    """

    def __init__(self, files: dict[str, str], prefixes: list[str], hosts: set[str], base: str):
        self.files = {key: sizes(name) for key, name in files.items()}
        self.prefixes = sorted({p.lower() for p in prefixes if p}, key=len, reverse=True)
        self.hosts = hosts
        self.base = base  # "/uploads/"

    def __bool__(self) -> bool:
        return bool(self.files)

    def new_url(self, url: str) -> str | None:
        """The new address for an old media URL (a size variant gets the nearest copy)."""
        url = url.strip()
        lower = unquote(url).lower().split("?", 1)[0].split("#", 1)[0]
        key = None
        if UPLOADS in lower:
            host = (urlsplit(lower).hostname or "").removeprefix("www.")
            if not host or not self.hosts or host in self.hosts:
                key = upload_file(lower)
        if key is None:
            for prefix in self.prefixes:
                if lower.startswith(prefix):
                    key = lower[len(prefix) :]
                    break
        if key is None:
            return None
        match = _SIZE.search(lower)  # the size asked for (upload_file has removed it)
        copies = self.files.get(_SIZE.sub("", key))
        if copies is None:
            return None
        wanted = int(match["width"]) if match else None
        if wanted is None:
            return self.base + copies[-1][1]
        fitting = [name for width, name in copies if width >= wanted]
        return self.base + (fitting[0] if fitting else copies[-1][1])

    def rewrite(self, html: str) -> str:
        """Every src, srcset and link to an old media file, pointed at the new copies."""
        if not self.files:
            return html

        def attribute(match: re.Match) -> str:
            value = match["value"]
            if match["lead"].strip().lower().startswith("srcset"):
                candidates = []
                for candidate in value.split(","):
                    bits = candidate.strip().split(None, 1)
                    if bits and (new := self.new_url(bits[0])):
                        bits[0] = new
                    candidates.append(" ".join(bits))
                value = ", ".join(candidates)
            elif new := self.new_url(value):
                value = new
            return f"{match['lead']}{match['quote']}{value}{match['quote']}"

        return _ATTRIBUTE.sub(attribute, html)
