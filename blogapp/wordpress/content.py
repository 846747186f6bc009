"""WordPress post and comment bodies as the HTML WordPress showed, before our sanitizer.

The result is stored as the post's HTML source (body_format "html"); markup.render_post
then sanitizes it, adds heading anchors and the table of contents, like any post's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from . import blocks, shortcodes
from .media import MediaMap
from .wpautop import wpautop

# WordPress's teaser and page-break markers mean nothing on a single-page post.
_MARKERS = re.compile(r"<!--\s*(?:more|nextpage|noteaser)\b[^>]*-->", re.I)
# Script and style bodies would survive as visible text once the sanitizer drops the tags.
_CODE_ELEMENTS = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.I | re.S)
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^>]*)?)>")
_ATTR_NAME = re.compile(r"""\s([^\s"'=<>/]+)\s*=""")
# Markup that only laid the page out on WordPress: its removal changes nothing a reader
# reads, so the report leaves it out (its text stays).
LAYOUT_TAGS = frozenset(
    {"div", "span", "section", "article", "header", "footer", "main", "aside", "center",
     "font", "u", "figure", "figcaption", "br", "p", "tbody", "thead"}
)  # fmt: skip
REPORTED_ATTRIBUTES = ("href", "src")  # a link or image the sanitizer refused
_IMG_WITHOUT_ALT = re.compile(
    r"""<img\b(?![^>]*\balt\s*=\s*(?:"[^"]*[^"\s][^"]*"|'[^']*[^'\s][^']*'))[^>]*>""", re.I
)
# <audio> and <video> play nothing under the CSP: a link to the file keeps them reachable.
_PLAYER = re.compile(r"<(audio|video)\b[^>]*?\bsrc=\"([^\"]+)\"[^>]*>.*?</\1\s*>", re.I | re.S)
_IMG_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)""", re.I)
# Plain text (no markup, no odd whitespace) needs none of wpautop's steps: the result is
# known (tests/test_wordpress_import.py checks it against wpautop itself).
_PLAIN_UNSAFE = re.compile(r"[<]|[^\S \n]| \n|\n ")


def post_html(
    raw: str,
    warn: Callable[[str], None],
    reusable: dict[int, str] | None = None,
    footnotes: str = "",
    media: MediaMap | None = None,
) -> str:
    """A post's stored content as the HTML WordPress would render (the_content filters).

    Block-editor posts already carry their <p> tags: WordPress skips wpautop for them,
    and so do we. Shortcodes are expanded before wpautop so their figures count as blocks.
    """
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if _CODE_ELEMENTS.search(raw):
        for match in _CODE_ELEMENTS.finditer(raw):
            warn(f"<{match.group(1).lower()}>")
        raw = _CODE_ELEMENTS.sub("", raw)
    raw = _MARKERS.sub("", raw)
    if blocks.has_blocks(raw):
        context = blocks.Context(reusable=reusable or {}, footnotes=footnotes, note=warn)
        raw = blocks.footnote_refs(blocks.render(raw, context))
        html = shortcodes.expand(raw, lambda name: warn(f"[{name}]")).strip()
    else:
        html = wpautop(shortcodes.expand(raw, lambda name: warn(f"[{name}]")))
    html = _PLAYER.sub(_player_link, html)
    return media.rewrite(html) if media else html


def _player_link(match: re.Match) -> str:
    kind, src = match.group(1).lower(), match.group(2)
    return f'<a href="{src}">{kind.capitalize()}: {src.rsplit("/", 1)[-1]}</a>'


def comment_html(raw: str) -> str:
    """A comment's text as WordPress displays it (comment_text runs wpautop)."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if not _PLAIN_UNSAFE.search(raw) and raw.strip() and raw[0] != " " and raw[-1] != " ":
        return plain_autop(raw)
    return wpautop(_CODE_ELEMENTS.sub("", raw))


def plain_autop(text: str) -> str:
    """wpautop() for text without markup, tabs or spaces beside newlines."""
    text = re.sub(r"\n\n+", "\n\n", text + "\n")
    out = []
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip("\n")
        if paragraph:
            out.append("<p>" + paragraph.replace("\n", "<br />\n") + "</p>\n")
    return "".join(out)


def removed_markup(before: str, after: str) -> dict[str, int]:
    """What the sanitizer took out of a post: elements by name and refused links/images.

    Layout-only markup (div, span, classes, styles...) is left out: WordPress themes need it,
    readers don't, and listing it on every post would hide what matters.
    """
    removed: Counter = Counter()
    kept = _markup_counts(after)
    for name, count in _markup_counts(before).items():
        if count > kept.get(name, 0):
            removed[name] = count - kept.get(name, 0)
    return dict(sorted(removed.items()))


def _markup_counts(html: str) -> Counter:
    counts: Counter = Counter()
    for tag, attrs in _TAG.findall(html):
        tag = tag.lower()
        tag = "h2" if tag == "h1" else tag  # the sanitizer makes an h1 an h2; not a removal
        if tag not in LAYOUT_TAGS:
            counts[f"<{tag}>"] += 1
        for attr in _ATTR_NAME.findall(attrs):
            attr = attr.lower()
            if attr in REPORTED_ATTRIBUTES or attr.startswith("on"):
                counts[f"{attr}="] += 1
    return counts


def images_without_alt(html: str) -> list[str]:
    """The src of each <img> with no (or an empty) alt text."""
    out = []
    for tag in _IMG_WITHOUT_ALT.findall(html):
        match = _IMG_SRC.search(tag)
        out.append(match.group(1) if match else "(no src)")
    return out
