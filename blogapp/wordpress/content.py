"""WordPress post and comment bodies as the HTML WordPress showed, before our sanitizer.

The result is stored as the post's HTML source (body_format "html"); markup.render_post
then sanitizes it, adds heading anchors and the table of contents, like any post's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import shortcodes
from .wpautop import wpautop

# Block-editor delimiters: <!-- wp:paragraph {"x":1} -->, <!-- /wp:paragraph -->, <!-- wp:x /-->
_BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:[^>]*?-->\n?", re.S)
# WordPress's teaser and page-break markers mean nothing on a single-page post.
_MARKERS = re.compile(r"<!--\s*(?:more|nextpage|noteaser)\b[^>]*-->", re.I)
# Script and style bodies would survive as visible text once the sanitizer drops the tags.
_CODE_ELEMENTS = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.I | re.S)


def post_html(raw: str, warn: Callable[[str], None]) -> str:
    """A post's stored content as the HTML WordPress would render (the_content filters).

    Block-editor posts already carry their <p> tags: WordPress skips wpautop for them,
    and so do we. Shortcodes are expanded before wpautop so their figures count as blocks.
    """
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if _CODE_ELEMENTS.search(raw):
        warn("script")
        raw = _CODE_ELEMENTS.sub("", raw)
    has_blocks = "<!-- wp:" in raw
    raw = _BLOCK_COMMENT.sub("", raw)
    raw = _MARKERS.sub("", raw)
    raw = shortcodes.expand(raw, lambda name: warn(f"[{name}]"))
    return raw.strip() if has_blocks else wpautop(raw)


def comment_html(raw: str) -> str:
    """A comment's text as WordPress displays it (comment_text runs wpautop)."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return wpautop(_CODE_ELEMENTS.sub("", raw))
