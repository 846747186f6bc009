"""WordPress shortcodes in imported content: what becomes HTML, what is dropped.

- ``[caption]`` / ``[wp_caption]`` become ``<figure>`` with a ``<figcaption>``, as WordPress
  renders them with HTML5 support on.
- ``[embed]URL[/embed]``, ``[audio src=...]`` and ``[video src=...]`` become a link to the
  media (the site embeds nothing from other origins: its CSP allows only itself).
- ``[gallery]`` and ``[playlist]`` are removed: they list attachments, which are not imported.
- Any other shortcode with a closing tag is unwrapped (its enclosed text kept); a lone one
  with attributes (``[contact-form-7 id="3"]``) is removed; a lone bracketed word without
  attributes (``[sic]``, ``[1]``) is ordinary text and stays.
- ``[[caption]]`` is WordPress's escape for literal text and comes out as ``[caption]``.

Every removal is reported, so the import summary says what was dropped and where.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_NAME = r"[A-Za-z][\w-]*"
# WordPress's get_shortcode_regex(), for any tag name (possessive quantifiers need 3.11).
_SHORTCODE = re.compile(
    r"\[(\[?)(" + _NAME + r")(?![\w-])"
    r"([^\]/]*(?:/(?!\])[^\]/]*)*?)"
    r"(?:(/)\]|\](?:([^\[]*+(?:\[(?!/\2\])[^\[]*+)*+)\[/\2\])?)"
    r"(\]?)"
)
_ATTR = re.compile(
    r"""([\w-]+)\s*=\s*"([^"]*)"(?:\s|$)|([\w-]+)\s*=\s*'([^']*)'(?:\s|$)"""
    r"""|([\w-]+)\s*=\s*([^\s'"]+)(?:\s|$)"""
)
_CAPTIONED = re.compile(r"((?:<a [^>]+>\s*)?<img [^>]+>(?:\s*</a>)?)(.*)", re.I | re.S)


def parse_attrs(text: str) -> dict[str, str]:
    """shortcode_parse_atts() for named attributes: 'id="a" width=300' -> a dict."""
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(text.replace("\u00a0", " ")):
        if match.group(1):
            attrs[match.group(1).lower()] = match.group(2)
        elif match.group(3):
            attrs[match.group(3).lower()] = match.group(4)
        elif match.group(5):
            attrs[match.group(5).lower()] = match.group(6)
    return attrs


def _caption(attrs: dict[str, str], content: str) -> str:
    """img_caption_shortcode(): the image (or linked image) and its caption text."""
    caption = attrs.get("caption", "")
    if not caption:
        match = _CAPTIONED.match(content.strip())
        if match:
            content, caption = match.group(1), match.group(2).strip()
    if not caption:
        return content
    return f"<figure>{content.strip()}<figcaption>{caption}</figcaption></figure>"


def _media_link(url: str, label: str) -> str:
    url = html.unescape(url.strip())
    if not re.match(r"https?://", url):
        return ""
    safe = html.escape(url)
    return f'<p><a href="{safe}">{html.escape(label or url)}</a></p>'


def expand(text: str, warn: Callable[[str], None]) -> str:
    """Turn shortcodes into HTML or text by the rules above; warn(name) for each dropped."""
    if "[" not in text:
        return text

    def replace(match: re.Match) -> str:
        if match.group(1) == "[" and match.group(6) == "]":
            return match.group(0)[1:-1]  # [[escaped]] is literal text
        name = match.group(2).lower()
        attrs = parse_attrs(match.group(3))
        closed = match.group(5) is not None
        content = match.group(5) or ""
        if name in ("caption", "wp_caption"):
            return _caption(attrs, expand(content, warn))
        if name == "embed":
            return _media_link(content, "")
        if name in ("audio", "video"):
            src = attrs.get("src") or next(
                (v for k, v in attrs.items() if k in ("mp3", "m4a", "ogg", "wav", "mp4", "webm")),
                "",
            )
            return _media_link(src, f"{name.capitalize()}: {src.rsplit('/', 1)[-1]}")
        if closed:
            warn(name)
            return expand(content, warn)
        if match.group(3).strip() or match.group(4):
            warn(name)
            return ""
        return match.group(0)  # "[sic]": plain bracketed text

    return _SHORTCODE.sub(replace, text)
