"""Markdown -> HTML -> bleach: the one module that turns untrusted text into safe HTML.

Everything here runs when content is saved; pages only print the stored ``*_html``.
It is the only module that imports bleach, so a change of sanitizer is a one-file change.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser

from bleach import html5lib_shim
from bleach.html5lib_shim import Filter
from bleach.linkifier import LinkifyFilter, build_url_re
from bleach.sanitizer import Cleaner
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from . import uploads

PROTOCOLS = frozenset({"http", "https", "mailto"})
COMMENT_REL = "nofollow ugc noopener"
# Bare URLs are linked for these schemes only (bleach would also link ftp:// and others).
_URL_RE = build_url_re(protocols=["http", "https"])

POST_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "a", "abbr", "b", "strong", "i",
        "em", "code", "pre", "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th",
        "td", "img", "figure", "figcaption", "del", "s", "sup", "sub", "dl", "dt", "dd", "kbd",
        "mark", "cite", "q", "small", "section", "details", "summary", "tfoot", "caption",
    }
)  # fmt: skip
COMMENT_TAGS = frozenset(
    {"p", "br", "a", "em", "strong", "i", "b", "code", "pre", "blockquote", "ul", "ol", "li"}
)

_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+-]{1,30}$")
_ALIGN_CLASS = re.compile(r"^align-(left|center|right)$")


def _code_class(tag: str, name: str, value: str) -> bool:
    return name == "class" and bool(_LANGUAGE.match(value))


def _cell_class(tag: str, name: str, value: str) -> bool:
    return name == "class" and bool(_ALIGN_CLASS.match(value))


# Footnotes (References): exactly the attributes _footnote_rules writes, with their shapes.
_FOOTNOTE_ATTRIBUTES = {
    ("a", "id"): re.compile(r"^fnref-\d{1,4}(-\d{1,4})?$"),
    ("a", "class"): re.compile(r"^footnote-backref$"),
    ("a", "aria-label"): re.compile(r"^Back to reference \d{1,4}( \(\d{1,4}\))? in the text$"),
    ("sup", "class"): re.compile(r"^footnote-ref$"),
    ("li", "id"): re.compile(r"^fn-\d{1,4}$"),
    ("li", "class"): re.compile(r"^footnote-item$"),
    ("ol", "class"): re.compile(r"^footnotes-list$"),
    ("section", "class"): re.compile(r"^footnotes$"),
}


def _allowed(*plain: str):
    """Attribute check: the plain names always; footnote attributes only in their shapes."""

    def check(tag: str, name: str, value: str) -> bool:
        if name in plain:
            return True
        shape = _FOOTNOTE_ATTRIBUTES.get((tag, name))
        return shape is not None and bool(shape.match(value))

    return check


POST_ATTRIBUTES = {
    "a": _allowed("href", "title"),
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "ol": _allowed("start"),
    "li": _allowed(),
    "sup": _allowed(),
    "section": _allowed(),
    "code": _code_class,
    "th": _cell_class,
    "td": _cell_class,
}
COMMENT_ATTRIBUTES = {"a": ["href", "title"], "ol": ["start"]}


def _markdown_for_posts() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    for rule, render in _FOOTNOTE_RULES.items():
        md.add_render_rule(rule, render)
    md.core.ruler.push("align_classes", _alignment_to_class)
    return md


# Markdown footnotes ([^1]) as a numbered References section, each with links back to where
# it is cited. Ids are "fn-N" / "fnref-N[-K]": the sanitizer lets exactly these through.
def _footnote_number(tokens, idx) -> str:
    return str(tokens[idx].meta["id"] + 1)


def _footnote_ref_id(tokens, idx) -> str:
    sub = tokens[idx].meta.get("subId", 0)
    number = _footnote_number(tokens, idx)
    return f"fnref-{number}" + (f"-{sub + 1}" if sub > 0 else "")


def _render_footnote_ref(self, tokens, idx, options, env) -> str:
    number = _footnote_number(tokens, idx)
    ref = _footnote_ref_id(tokens, idx)
    return f'<sup class="footnote-ref"><a href="#fn-{number}" id="{ref}">[{number}]</a></sup>'


def _render_footnote_block_open(self, tokens, idx, options, env) -> str:
    return '<section class="footnotes">\n<h2>References</h2>\n<ol class="footnotes-list">\n'


def _render_footnote_open(self, tokens, idx, options, env) -> str:
    return f'<li id="fn-{_footnote_number(tokens, idx)}" class="footnote-item">'


def _render_footnote_anchor(self, tokens, idx, options, env) -> str:
    number, sub = _footnote_number(tokens, idx), tokens[idx].meta.get("subId", 0)
    which = f"{number} ({sub + 1})" if sub > 0 else number
    return (
        f' <a href="#{_footnote_ref_id(tokens, idx)}" class="footnote-backref"'
        f' aria-label="Back to reference {which} in the text">\u21a9\ufe0e</a>'
    )


_FOOTNOTE_RULES = {
    "footnote_ref": _render_footnote_ref,
    "footnote_block_open": _render_footnote_block_open,
    "footnote_open": _render_footnote_open,
    "footnote_anchor": _render_footnote_anchor,
}


def _markdown_for_comments() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    # The comment subset: paragraphs, emphasis, code, lists, quotes, links.
    md.disable(["heading", "lheading", "image", "hr", "html_block", "html_inline"])
    return md


def _alignment_to_class(state) -> None:
    """Table alignment as classes: the CSP forbids style attributes."""
    for token in state.tokens:
        style = token.attrGet("style") if token.attrs else None
        if style and token.tag in ("th", "td"):
            token.attrs.pop("style")
            token.attrSet("class", "align-" + style.split(":", 1)[1].strip())


_POST_MD = _markdown_for_posts()
_COMMENT_MD = _markdown_for_comments()


def slugify(text: str, max_length: int = 80) -> str:
    """ASCII slug from any text: 'Empathy in Action!' -> 'empathy-in-action'."""
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", normalized.lower()).strip("-")
    return slug[:max_length].rstrip("-")


class _HeadingFilter(Filter):
    """Gives h2-h6 stable ids, wraps their text in a self-link, and records the contents.

    Runs after sanitizing, so authors cannot set ids themselves (no DOM clobbering).
    An h1 in content becomes an h2: the page's only h1 is the post title.
    """

    def __init__(self, source, toc: list[dict]):
        super().__init__(source)
        self.toc = toc
        self.used: set[str] = set()

    def __iter__(self):
        buffer: list[dict] | None = None
        level = 0
        for token in super().__iter__():
            kind, name = token["type"], token.get("name", "")
            if kind == "StartTag" and re.fullmatch(r"h[1-6]", name) and buffer is None:
                level = max(2, int(name[1]))
                buffer = []
                continue
            if buffer is not None:
                if kind == "EndTag" and re.fullmatch(r"h[1-6]", name):
                    yield from self._heading(level, buffer)
                    buffer = None
                else:
                    buffer.append(token)
                continue
            yield token

    def _heading(self, level: int, inner: list[dict]):
        text = " ".join(
            "".join(
                t["data"] for t in inner if t["type"] in ("Characters", "SpaceCharacters")
            ).split()
        )
        anchor = self._unique(slugify(text) or "section")
        self.toc.append({"level": level, "id": anchor, "text": text})
        tag = f"h{level}"
        yield {"type": "StartTag", "name": tag, "namespace": None, "data": {(None, "id"): anchor}}
        yield {
            "type": "StartTag",
            "name": "a",
            "namespace": None,
            "data": {(None, "href"): "#" + anchor, (None, "class"): "heading-anchor"},
        }
        # Links inside a heading would nest in our anchor: keep only their text.
        yield from (t for t in inner if t.get("name") != "a")
        yield {"type": "EndTag", "name": "a", "namespace": None}
        yield {"type": "EndTag", "name": tag, "namespace": None}

    def _unique(self, base: str) -> str:
        anchor, n = base, 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor


# Elements that go with everything inside them: their text is code or markup, never prose.
DROPPED_WITH_CONTENTS = frozenset(
    {
        "script", "style", "template", "iframe", "noscript", "noembed", "noframes", "xmp",
        "object", "embed", "textarea", "title", "select", "option", "svg", "math", "head",
    }
)  # fmt: skip


class _DropContents(Filter):
    """Removes DROPPED_WITH_CONTENTS elements whole, before sanitizing turns them into text."""

    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            name = token.get("name", "")
            if name in DROPPED_WITH_CONTENTS:
                if token["type"] == "StartTag":
                    depth += 1
                elif token["type"] == "EndTag" and depth:
                    depth -= 1
                continue
            if not depth:
                yield token


class _Cleaner(Cleaner):
    """bleach's Cleaner that drops script, style and the like together with their contents."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The parser must see these elements (not strip their tags early) for them to be dropped.
        self.parser = html5lib_shim.BleachHTMLParser(
            tags=frozenset(self.tags) | DROPPED_WITH_CONTENTS,
            strip=self.strip,
            consume_entities=False,
            namespaceHTMLElements=False,
        )
        walker = self.walker
        self.walker = lambda dom: _DropContents(walker(dom))


# How wide an image in a post shows: the article's measure on wide screens, else the screen.
POST_IMAGE_SIZES = "(min-width: 46rem) 42rem, 100vw"


class _PictureFilter(Filter):
    """An <img> of one of our uploads becomes a <picture> offering its AVIF/WebP copies.

    Runs after sanitizing and builds the markup from the stored name alone (uploads.sources),
    so authors still can't write <picture>, <source> or srcset themselves: only src and alt
    come from them, and only a name uploads.py made gets the extra sources.
    """

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] == "EmptyTag" and token["name"] == "img":
                yield from self._picture(token)
            else:
                yield token

    def _picture(self, token: dict):
        src = token["data"].get((None, "src"), "")
        name = src[len(uploads.PUBLIC_PATH) :] if src.startswith(uploads.PUBLIC_PATH) else ""
        if not uploads.is_stored_name(name):
            yield token
            return

        def url(file: str) -> str:
            return uploads.PUBLIC_PATH + file

        img = dict(token["data"])
        img[(None, "srcset")] = uploads.srcset(name, url)
        img[(None, "sizes")] = POST_IMAGE_SIZES
        img[(None, "loading")] = "lazy"
        sources = uploads.sources(name, url)
        if sources:
            yield {"type": "StartTag", "name": "picture", "namespace": None, "data": {}}
        for mime, srcset in sources:
            yield {
                "type": "EmptyTag",
                "name": "source",
                "namespace": None,
                "data": {
                    (None, "type"): mime,
                    (None, "srcset"): srcset,
                    (None, "sizes"): POST_IMAGE_SIZES,
                },
            }
        yield {**token, "data": img}
        if sources:
            yield {"type": "EndTag", "name": "picture", "namespace": None}


def _set_rel(rel: str, attrs: dict, new: bool = False) -> dict:
    attrs[(None, "rel")] = rel
    return attrs


def _post_link(attrs: dict, new: bool = False) -> dict:
    href = attrs.get((None, "href"), "")
    if href.startswith(("http://", "https://")):
        attrs[(None, "rel")] = "noopener"
    return attrs


def _keep_text(attrs: dict, new: bool = False) -> dict:
    return attrs


@dataclass
class RenderedPost:
    html: str
    toc: list[dict] = field(default_factory=list)
    summary: str = ""
    word_count: int = 0
    text: str = ""  # its visible text, whitespace collapsed (what plain_text() gives)


def render_post(source: str, source_format: str = "markdown", excerpt: str = "") -> RenderedPost:
    """An author's Markdown (or imported HTML) as sanitized HTML, contents, summary, words."""
    raw_html = _POST_MD.render(source) if source_format == "markdown" else source
    toc: list[dict] = []
    cleaner = _Cleaner(
        tags=POST_TAGS,
        attributes=POST_ATTRIBUTES,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[
            partial(
                LinkifyFilter, url_re=_URL_RE, callbacks=[_post_link], skip_tags={"pre", "code"}
            ),
            partial(_HeadingFilter, toc=toc),
            _PictureFilter,
        ],
    )
    html = cleaner.clean(raw_html)
    text = _TextStats.of(html)
    summary = plain_excerpt(excerpt) if excerpt.strip() else text.first_paragraph
    return RenderedPost(
        html=html,
        toc=toc,
        summary=cut(summary),
        word_count=text.words,
        text=" ".join(text.text.split()),
    )


def render_description(source: str) -> str:
    """A category description (Markdown, a little HTML) through the comment allowlist.

    Written by admins, but shown as HTML to everyone: a <meta http-equiv="refresh"> or a
    script in it must not reach readers any more than in a comment.
    """
    if not source.strip():
        return ""
    return _comment_cleaner([_post_link]).clean(_POST_MD.render(source))


def _comment_cleaner(link_callbacks: list, **linkify) -> _Cleaner:
    """The comment allowlist, linkifying bare URLs with link_callbacks (one per call: bleach's
    Cleaner is not thread-safe)."""
    return _Cleaner(
        tags=COMMENT_TAGS,
        attributes=COMMENT_ATTRIBUTES,
        protocols=PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[partial(LinkifyFilter, url_re=_URL_RE, callbacks=link_callbacks, **linkify)],
    )


def render_comment(source: str) -> str:
    """A comment's Markdown subset as sanitized HTML; every link gets nofollow ugc noopener."""
    cleaner = _comment_cleaner([partial(_set_rel, COMMENT_REL)], skip_tags={"pre", "code"})
    return cleaner.clean(_COMMENT_MD.render(source))


# Paragraphs of plain text (what wpautop makes of most comments): only these tags, and
# text that has nothing to escape, no control characters and nothing to link.
_PLAIN_PARAGRAPHS = re.compile(r"<p>|</p>|<br />")
_PLAIN_TEXT = re.compile(r"^[\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e\u00a0-\ud7ff\ue000-\ufffc]*$")


def render_comment_html(source_html: str) -> str:
    """Comment HTML from elsewhere (a WordPress import) through the comment allowlist."""
    text = _PLAIN_PARAGRAPHS.sub("", source_html)
    if _PLAIN_TEXT.match(text) and not _URL_RE.search(text) and _is_plain_paragraphs(source_html):
        # What bleach returns for it, without parsing: 100,000 imported comments in seconds.
        # tests/test_markup.py checks this against the cleaner on hostile and random input.
        return source_html.replace("<br />", "<br>")
    return _comment_cleaner([partial(_set_rel, COMMENT_REL)]).clean(source_html)


def _is_plain_paragraphs(html: str) -> bool:
    """'<p>a<br />\nb</p>\n<p>c</p>\n': paragraphs, each opened and closed once, in turn."""
    depth = 0
    for tag in _PLAIN_PARAGRAPHS.findall(html):
        if tag == "<p>":
            depth += 1
        elif tag == "</p>":
            depth -= 1
        elif depth != 1:
            return False  # a <br /> outside a paragraph
        if depth not in (0, 1):
            return False
    if depth != 0:
        return False
    # Text between paragraphs would be wrapped differently by the parser: only newlines.
    return all(not piece.strip() for piece in re.split(r"<p>.*?</p>", html, flags=re.S))


def plain_text(html: str) -> str:
    """Visible text of stored HTML, whitespace collapsed."""
    return " ".join(_TextStats.of(html).text.split())


def plain_excerpt(text: str) -> str:
    """An author's excerpt is plain text: tags dropped, whitespace collapsed.

    Plain text, not HTML: "pressure > 140 & pulse < 60" stays exactly that (templates
    escape it once when shown); it was escaped here too and showed as "&gt;".
    """
    return " ".join(_TextStats.of(text).text.split())


def cut(text: str, limit: int = 300) -> str:
    """Shorten at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return head + "…"


def count_links(source: str) -> int:
    """How many links a comment would carry once rendered (for the moderation rule)."""
    return render_comment(source).count("<a ")


def strip_links(html: str) -> str:
    """Stored comment HTML with links turned into their text (held comments shown to guests)."""
    return Cleaner(tags=COMMENT_TAGS - {"a"}, attributes={}, strip=True).clean(html)


# Elements inside a line of text: their edges are not word breaks.
_INLINE = frozenset(
    {"a", "abbr", "b", "strong", "i", "em", "code", "del", "ins", "s", "sup", "sub", "kbd",
     "mark", "cite", "q", "small", "span", "u"}
)  # fmt: skip


class _TextStats(HTMLParser):
    """Walks sanitized HTML once: all text, word count and the first paragraph's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.first: list[str] | None = None
        self.first_done = False
        self.in_p = 0

    @classmethod
    def of(cls, html: str) -> _TextStats:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self.in_p += 1
            if self.first is None:
                self.first = []
        if tag not in _INLINE:  # "<em>word</em>." is "word." not "word ."
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag == "p":
            self.in_p -= 1
            if self.first is not None and "".join(self.first).strip():
                self.first_done = True
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_data(self, data):
        self.parts.append(data)
        if self.in_p and self.first is not None and not self.first_done:
            self.first.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def first_paragraph(self) -> str:
        return " ".join("".join(self.first or []).split())
