"""The content pipeline: Markdown -> HTML -> bleach. Whatever an author or commenter types, the
stored HTML carries no script, no event handler, no dangerous URL and no tag off the allowlist."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from blogapp.markup import (
    COMMENT_TAGS,
    POST_TAGS,
    render_comment,
    render_comment_html,
    render_post,
    slugify,
)

SAFE_SCHEMES = {"http", "https", "mailto"}


class _Audit(HTMLParser):
    """Collects every tag and attribute of a piece of HTML, as a browser's tokenizer would."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.comments.append(data)

    def unknown_decl(self, data):
        self.comments.append(data)


def scheme(url: str) -> str | None:
    """The scheme a browser would see (the audit already decoded entities once, as a browser
    does): whitespace and control characters dropped, case folded."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    match = re.match(r"^([a-z][a-z0-9+.-]*):", cleaned)
    return match.group(1) if match else None


def assert_inert(output: str, allowed_tags: frozenset[str]) -> None:
    audit = _Audit()
    audit.feed(output)
    audit.close()
    assert not audit.comments, output
    for tag, attrs in audit.tags:
        assert tag in allowed_tags, f"<{tag}> in {output!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{name} in {output!r}"
            assert name not in {"style", "srcset", "formaction", "action", "xlink:href", "name"}, (
                output
            )
            if name in {"href", "src"}:
                assert scheme(value) in SAFE_SCHEMES | {None}, f"{name}={value!r} in {output!r}"
    lowered = output.lower()
    for marker in (
        "<script",
        "<style",
        "<iframe",
        "<svg",
        "<math",
        "<object",
        "<embed",
    ):
        assert marker not in lowered, f"{marker} in {output!r}"


VECTORS = [
    # plain script and handlers
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    '<body onload="alert(1)">',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<a href="#" onclick="alert(1)">x</a>',
    "<p onmouseover=alert(1)>hover</p>",
    # javascript:, vbscript:, data: in links and images, encoded and mixed case
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="javascript:alert(1)">',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java&#115;cript:alert(1))",
    "[x](&#x6a;avascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,AAAA)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    # SVG and MathML tricks
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    # noscript / style / template mutation XSS shapes
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<style><img src=x onerror=alert(1)></style>",
    '<style>@import "javascript:alert(1)";</style>',
    "<template><img src=x onerror=alert(1)></template>",
    '<textarea><img title="</textarea><img src=x onerror=alert(1)>"></textarea>',
    '<title><img title="</title><img src=x onerror=alert(1)>"></title>',
    '<xmp><img title="</xmp><img src=x onerror=alert(1)>"></xmp>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    # unclosed and broken tags
    "<img src=x onerror=alert(1)//",
    '<a href="javascript:alert(1)"',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1)//<</script>",
    '<img """><script>alert(1)</script>">',
    "<a href=javascript:alert(1)>x",
    # comment and CDATA tricks
    "<!--<img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<?xml-stylesheet href=javascript:alert(1)?>",
    # things that are not script but must not come through either
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="position:fixed;top:0">overlay</p>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="https://evil.example"><button formaction="javascript:alert(1)">x</button>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<img src=x srcset="javascript:alert(1) 1x">',
    '<p id="__proto__" name="forms">clobber</p>',
    '<a href="https://ok.example" target="_blank" ping="https://evil.example">x</a>',
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
]


@pytest.mark.parametrize("vector", VECTORS)
def test_post_markup_comes_out_inert(vector):
    assert_inert(render_post(vector).html, POST_TAGS | {"h2", "a"})


@pytest.mark.parametrize("vector", VECTORS)
def test_comment_markup_comes_out_inert(vector):
    assert_inert(render_comment(vector), COMMENT_TAGS)
    assert_inert(render_comment_html(vector), COMMENT_TAGS)


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "<script" in v.lower() and "```" not in v and "`<" not in v]
)
def test_script_contents_do_not_show_as_text(vector):
    """Script and style bodies are dropped, not turned into visible junk."""
    assert "alert(1)</" not in render_post(vector).html
    assert "alert(1)" not in render_post("<script>alert(1)</script>").html


def test_code_blocks_show_markup_as_text():
    out = render_post("```html\n<script>alert(1)</script>\n```").html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert 'class="language-html"' in out


def test_the_whole_brs_kb_corpus_comes_out_inert():
    import brs_kb  # a dev dependency: its absence is an error, never a skip

    payloads = sorted(
        {entry["payload"] for entry in brs_kb.get_all_payloads().values() if entry.get("payload")}
    )
    assert len(payloads) > 1000
    for payload in payloads:
        assert_inert(render_post(payload).html, POST_TAGS | {"h2", "a"})
        assert_inert(render_comment(payload), COMMENT_TAGS)


def test_headings_get_stable_ids_and_a_table_of_contents():
    rendered = render_post(
        "# Top\n\n## Care & trust\n\n### Care & trust\n\n## <em>Why</em> it matters\n"
    )
    assert '<h2 id="top">' in rendered.html  # a content h1 becomes h2: the title is the page's h1
    assert '<h2 id="care-trust">' in rendered.html and '<h3 id="care-trust-2">' in rendered.html
    assert [item["id"] for item in rendered.toc] == [
        "top",
        "care-trust",
        "care-trust-2",
        "why-it-matters",
    ]
    assert render_post("## Care & trust").html == render_post("## Care & trust").html


def test_authors_cannot_set_ids_themselves():
    out = render_post('<h2 id="login-form">Heading</h2><p id="x">y</p>').html
    assert 'id="login-form"' not in out and 'id="x"' not in out and '<h2 id="heading">' in out


def test_tables_code_lists_and_links_render():
    source = "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\n- one\n- two\n\n[ok](https://example.org)"
    out = render_post(source).html
    assert "<table>" in out and 'class="align-left"' in out and 'class="align-right"' in out
    assert '<code class="language-python">' in out
    assert "<li>one</li>" in out
    assert '<a href="https://example.org" rel="noopener">ok</a>' in out


def test_bare_urls_are_linked_after_cleaning():
    out = render_post("See https://example.org/page today.").html
    assert '<a href="https://example.org/page"' in out


def test_comment_links_get_nofollow_ugc_noopener_and_no_images_or_headings():
    out = render_comment("# Big\n\n![img](https://example.org/x.png) [site](https://example.org)")
    assert 'rel="nofollow ugc noopener"' in out
    assert "<img" not in out and "<h1" not in out and "<h2" not in out


def test_excerpt_and_word_count():
    rendered = render_post("First paragraph here.\n\nSecond one.", excerpt="")
    assert rendered.summary == "First paragraph here." and rendered.word_count == 5
    assert render_post("Body", excerpt="<b>Mine</b> & yours").summary == "Mine & yours"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Empathy in Action!", "empathy-in-action"),
        ("Café — naïve", "cafe-naive"),
        ("<script>", "script"),
    ],
)
def test_slugify(title, slug):
    assert slugify(title) == slug
