"""A port of WordPress's wpautop() (wp-includes/formatting.php, WordPress 6.x).

WordPress stores classic-editor posts and all comments without <p> tags: a blank line is a
paragraph break and a single newline a <br />. This follows WordPress's own steps, in its
order, so imported posts get the paragraphs their readers saw.
"""

from __future__ import annotations

import re

ALLBLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section"
    r"|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)

# wp_html_split(): comments, CDATA and elements, each kept whole.
_HTML_PARTS = re.compile(r"(<!--.*?(?:-->|$)|<!\[CDATA\[.*?(?:\]\]>|$)|<[^>]*>?)", re.S)
_NEWLINE_KEEPERS = re.compile(r"<(script|style|svg|math).*?</\1>", re.S)


def _replace_in_html_tags(text: str, old: str, new: str) -> str:
    """wp_replace_in_html_tags(): replace only inside tags and comments, not in text."""
    parts = _HTML_PARTS.split(text)
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace(old, new)
    return "".join(parts)


def wpautop(text: str, br: bool = True) -> str:
    """Paragraphs for blank lines and <br /> for single newlines, as WordPress renders them."""
    if not text.strip():
        return ""
    pre_tags: dict[str, str] = {}
    text = text + "\n"

    # Take <pre> blocks out so nothing inside them changes.
    if "<pre" in text:
        parts = text.split("</pre>")
        last = parts.pop()
        text = ""
        for i, part in enumerate(parts):
            start = part.find("<pre")
            if start == -1:
                text += part
                continue
            name = f"<pre wp-pre-tag-{i}></pre>"
            pre_tags[name] = part[start:] + "</pre>"
            text += part[:start] + name
        text += last

    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text)
    # Space around block-level elements so they never land inside a paragraph.
    text = re.sub(r"(<" + ALLBLOCKS + r"[\s/>])", r"\n\n\1", text)
    text = re.sub(r"(</" + ALLBLOCKS + r">)", r"\1\n\n", text)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _replace_in_html_tags(text, "\n", " <!-- wpnl --> ")

    if "<option" in text:
        text = re.sub(r"\s*<option", "<option", text)
        text = re.sub(r"</option>\s*", "</option>", text)
    if "</object>" in text:
        text = re.sub(r"(<object[^>]*>)\s*", r"\1", text)
        text = re.sub(r"\s*</object>", "</object>", text)
        text = re.sub(r"\s*(</?(?:param|embed)[^>]*>)\s*", r"\1", text)
    if "<source" in text or "<track" in text:
        text = re.sub(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*", r"\1", text)
        text = re.sub(r"\s*([<\[]/(?:audio|video)[>\]])", r"\1", text)
        text = re.sub(r"\s*(<(?:source|track)[^>]*>)\s*", r"\1", text)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text)

    text = re.sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p]
    text = "".join("<p>" + p.strip("\n") + "</p>\n" for p in paragraphs)

    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(r"<p>\s*(</?" + ALLBLOCKS + r"[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.I)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(r"<p>\s*(</?" + ALLBLOCKS + r"[^>]*>)", r"\1", text)
    text = re.sub(r"(</?" + ALLBLOCKS + r"[^>]*>)\s*</p>", r"\1", text)

    if br:
        text = _NEWLINE_KEEPERS.sub(
            lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"), text
        )
        text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
        text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
        text = text.replace("<WPPreserveNewline />", "\n")

    text = re.sub(r"(</?" + ALLBLOCKS + r"[^>]*>)\s*<br />", r"\1", text)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)

    for name, block in pre_tags.items():
        text = text.replace(name, block)
    if "<!-- wpnl -->" in text:
        text = text.replace(" <!-- wpnl --> ", "\n").replace("<!-- wpnl -->", "\n")
    return text
