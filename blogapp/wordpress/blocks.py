"""Block-editor content as the HTML a reader saw, before our sanitizer.

WordPress saves each block's HTML between ``<!-- wp:name {attrs} -->`` delimiters and
builds dynamic blocks (latest posts, navigation, search...) only when showing a page.
Here the delimiters are parsed into a tree (like WordPress's parse_blocks) and each block
becomes plain HTML: paragraphs, headings, lists, quotes, pullquotes, images and galleries as
figures, tables, code, preformatted and verse, separators, buttons as links, columns and
groups flattened, media-text, cover as its image then its text, details/summary, footnotes
(from the post's ``footnotes`` meta). Reusable blocks (``wp:block {"ref":N}``) are expanded
from their ``wp_block`` items. A block we don't know keeps its inner HTML: nothing it held
is silently lost; a dynamic block with nothing saved is counted as dropped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_DELIMITER = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<namespace>[a-z][a-z0-9_-]*/)?(?P<name>[a-z][a-z0-9_-]*)"
    r"\s+(?P<attrs>\{(?:(?!-->).)*?\}\s+)?(?P<void>/)?-->",
    re.S,
)
MAX_DEPTH = 20  # reusable blocks inside reusable blocks: deeper is a loop
# Blocks that are layout only: their own markup goes, their inner blocks stay.
_WRAPPERS = frozenset({"columns", "column", "group", "row", "stack", "buttons", "social-links"})
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_BG_URL = re.compile(r"background-image:\s*url\(\s*['\"]?([^'\")]+)", re.I)
_LINK = re.compile(r"<a\b[^>]*>.*?</a>", re.I | re.S)
_MEDIA_SRC = re.compile(r"<(?:audio|video|source)\b[^>]*\bsrc=\"([^\"]+)\"", re.I)
_CAPTION = re.compile(r"<figcaption\b[^>]*>(.*?)</figcaption>", re.I | re.S)
_FIGURE_DIV_URL = re.compile(r"<div class=\"wp-block-embed__wrapper\">\s*(\S+?)\s*</div>", re.S)
_FOOTNOTE_REF = re.compile(
    r"<sup\b[^>]*\bdata-fn=\"[^\"]*\"[^>]*>\s*<a\b[^>]*>(.*?)</a>\s*</sup>", re.I | re.S
)


@dataclass
class Block:
    name: str  # "paragraph", "core-embed/youtube" is "embed"-like: namespace kept apart
    namespace: str
    attrs: dict
    parts: list = field(default_factory=list)  # str (HTML between children) and Block


def has_blocks(text: str) -> bool:
    return "<!-- wp:" in text


def parse(text: str) -> list:
    """The content as a list of top-level parts: str (freeform HTML) and Block."""
    root: list = []
    stack: list[Block] = []
    position = 0
    for match in _DELIMITER.finditer(text):
        chunk = text[position : match.start()]
        (stack[-1].parts if stack else root).append(chunk)
        position = match.end()
        name = match["name"]
        namespace = (match["namespace"] or "core/").rstrip("/")
        if match["closer"]:
            # Close the innermost open block of that name (unbalanced ones are closed too).
            for index in range(len(stack) - 1, -1, -1):
                if stack[index].name == name:
                    while len(stack) > index:
                        block = stack.pop()
                        (stack[-1].parts if stack else root).append(block)
                    break
            continue
        try:
            attrs = json.loads(match["attrs"]) if match["attrs"] else {}
        except ValueError:
            attrs = {}
        block = Block(name, namespace, attrs if isinstance(attrs, dict) else {})
        if match["void"]:
            (stack[-1].parts if stack else root).append(block)
        else:
            stack.append(block)
    (stack[-1].parts if stack else root).append(text[position:])
    while stack:  # a block never closed keeps what it held
        block = stack.pop()
        (stack[-1].parts if stack else root).append(block)
    return root


@dataclass
class Context:
    """What rendering needs beyond the blocks: reusable blocks, footnotes, a way to count."""

    reusable: dict[int, str] = field(default_factory=dict)
    footnotes: str = ""  # the post's footnotes meta (JSON)
    note: Callable[[str], None] = lambda what: None  # "dropped dynamic block latest-posts"
    freeform: Callable[[str], str] = lambda text: text  # classic HTML between blocks
    depth: int = 0


def render(text: str, context: Context) -> str:
    """Block content as plain HTML (see the module's docstring)."""
    return _render_parts(parse(text), context, top=True)


def _render_parts(parts: list, context: Context, top: bool = False) -> str:
    out = []
    for part in parts:
        if isinstance(part, Block):
            out.append(_render_block(part, context))
        elif top and part.strip():
            out.append(context.freeform(part))
        else:
            out.append(part)
    return "".join(out)


def _inner(block: Block, context: Context) -> str:
    return _render_parts(block.parts, context)


def _render_block(block: Block, context: Context) -> str:
    name = block.name if block.namespace == "core" else f"{block.namespace}/{block.name}"
    if name == "block":
        return _reusable(block, context)
    if name == "footnotes":
        return _footnotes(context)
    if name in ("more", "nextpage", "spacer"):
        return ""
    if name in _WRAPPERS:
        return _children_only(block, context)
    if name == "cover":
        return _cover(block, context)
    inner = _inner(block, context)
    if name in ("button", "file"):
        links = _LINK.findall(inner)
        return "".join(f"<p>{link}</p>" for link in links) or inner
    if name in ("audio", "video"):
        return _media_link(name, inner)
    if name == "embed" or block.namespace == "core-embed":
        return _embed(block, inner)
    if name in ("paragraph", "heading", "list", "list-item", "quote", "pullquote", "image",
                "gallery", "table", "code", "preformatted", "verse", "separator", "details",
                "media-text", "file", "html", "shortcode", "freeform", "classic"):  # fmt: skip
        return inner
    if not inner.strip() or not _has_text_or_media(inner):
        context.note(f"dynamic block {name}")  # built by WordPress on each view: nothing saved
        return ""
    return inner  # a block we don't know: its saved HTML stays


def _children_only(block: Block, context: Context) -> str:
    """A layout block's inner blocks, without its own wrapper markup (its text stays)."""
    out = []
    for part in block.parts:
        if isinstance(part, Block):
            out.append(_render_block(part, context))
        else:
            text = re.sub(r"</?[a-zA-Z][^>]*>", "", part)
            if text.strip():
                out.append(f"<p>{text.strip()}</p>")
    return "\n".join(piece for piece in out if piece)


def _reusable(block: Block, context: Context) -> str:
    ref = block.attrs.get("ref")
    content = context.reusable.get(ref) if isinstance(ref, int) else None
    if content is None:
        context.note(f"reusable block {ref} (not in the export)")
        return ""
    if context.depth >= MAX_DEPTH:
        context.note(f"reusable block {ref} (nested too deep)")
        return ""
    context.depth += 1
    try:
        return render(content, context)
    finally:
        context.depth -= 1


def _footnotes(context: Context) -> str:
    try:
        notes = json.loads(context.footnotes) if context.footnotes else []
    except ValueError:
        notes = []
    items = [
        f"<li>{note.get('content', '')}</li>"
        for note in notes
        if isinstance(note, dict) and note.get("content")
    ]
    return f"<h2>Notes</h2>\n<ol>{''.join(items)}</ol>" if items else ""


def _cover(block: Block, context: Context) -> str:
    """The cover's image as a figure, then the blocks written over it."""
    own = "".join(part for part in block.parts if isinstance(part, str))
    image = _IMG.search(own)
    figure = ""
    if image:
        figure = f"<figure>{image.group(0)}</figure>"
    else:
        url = block.attrs.get("url") or (
            _BG_URL.search(own).group(1) if _BG_URL.search(own) else ""
        )
        if isinstance(url, str) and url:
            alt = html.escape(str(block.attrs.get("alt", "")))
            figure = f'<figure><img src="{html.escape(url)}" alt="{alt}"></figure>'
    children = "\n".join(
        _render_block(part, context) for part in block.parts if isinstance(part, Block)
    )
    return "\n".join(piece for piece in (figure, children) if piece)


def _media_link(kind: str, inner: str) -> str:
    """Audio and video as a link to the file (the CSP plays nothing from elsewhere)."""
    match = _MEDIA_SRC.search(inner)
    if not match:
        return inner
    src = match.group(1)
    caption = _CAPTION.search(inner)
    label = re.sub(r"<[^>]+>", "", caption.group(1)).strip() if caption else ""
    label = label or src.rsplit("/", 1)[-1]
    return f'<p><a href="{src}">{kind.capitalize()}: {label}</a></p>'


def _embed(block: Block, inner: str) -> str:
    url = block.attrs.get("url")
    if not isinstance(url, str):
        match = _FIGURE_DIV_URL.search(inner)
        url = html.unescape(match.group(1)) if match else ""
    if not re.match(r"https?://", url or ""):
        return inner
    caption = _CAPTION.search(inner)
    label = re.sub(r"<[^>]+>", "", caption.group(1)).strip() if caption else url
    return f'<p><a href="{html.escape(url)}">{html.escape(label) if not caption else label}</a></p>'


def _has_text_or_media(inner: str) -> bool:
    return bool(re.sub(r"<[^>]+>|\s+", "", inner)) or bool(_IMG.search(inner))


def footnote_refs(text: str) -> str:
    """Footnote markers keep their number; their links pointed at ids the sanitizer drops."""
    return _FOOTNOTE_REF.sub(r"<sup>\1</sup>", text)
