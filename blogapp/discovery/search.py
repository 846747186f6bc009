"""Full-text search: SQLite FTS5 or PostgreSQL tsvector, kept in sync by triggers (0002_search).

People's queries never reach the search syntax raw: they are cut into words and quoted
phrases, and only those are handed to the database, each one quoted. Snippets come back
with control-character sentinels around the matches; the text is escaped first and only
then are the sentinels turned into <mark>, so stored text can't inject markup.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import column, func, literal_column, select, table

from ..extensions import db
from ..models import Post
from ..posts.services import listed, paginate, visible_posts

MAX_QUERY_CHARS = 200
MAX_WORDS = 24
# Typed as whole words in capitals, these are search operators elsewhere; here they only add noise.
OPERATOR_WORDS = {"AND", "OR", "NOT", "NEAR"}
START, STOP = "\x01", "\x02"

_TOKEN = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")
_MARKED = re.compile(f"{START}([^{START}{STOP}]*){STOP}")

SQLITE_FTS = table("posts_fts", column("rowid"))
PG_FTS = table("posts_fts", column("post_id"), column("document"))


def parse_query(raw: str) -> list[str]:
    """The query's phrases and words: '"x y" z-w' -> ['x y', 'z', 'w']."""
    text = unicodedata.normalize("NFKC", raw or "")[:MAX_QUERY_CHARS]
    phrases: list[str] = []
    budget = MAX_WORDS
    for quoted, bare in _TOKEN.findall(text):
        if bare in OPERATOR_WORDS:
            continue
        words = _WORD.findall(quoted or bare)[:budget]
        if not words:
            continue
        # A quoted phrase stays together; "title:care" or "well-being" become separate words.
        phrases += [" ".join(words)] if quoted else words
        budget -= len(words)
        if budget <= 0:
            break
    return phrases


def fts_query(phrases: list[str]) -> str:
    """Each phrase quoted: safe for FTS5 MATCH and for websearch_to_tsquery alike."""
    return " ".join(f'"{phrase}"' for phrase in phrases)


def highlight(text: str | None) -> Markup:
    """Escape text, then mark the spans the database bracketed with sentinels."""
    escaped = str(escape(text or ""))
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return Markup(marked.replace(START, "").replace(STOP, ""))  # nosec B704 - escaped above


@dataclass
class Hit:
    post: Post
    title: Markup
    snippet: Markup


@dataclass
class SearchResults:
    query: str
    phrases: list[str]
    pagination: object | None
    hits: list[Hit]

    @property
    def total(self) -> int:
        return self.pagination.total if self.pagination is not None else 0


def search_posts(raw: str, page: int = 1, per_page: int = 10) -> SearchResults:
    """Visible posts matching the query, best first, with highlighted titles and snippets."""
    phrases = parse_query(raw)
    if not phrases:
        return SearchResults(raw, phrases, None, [])
    query = fts_query(phrases)
    backend = _sqlite if db.engine.dialect.name == "sqlite" else _postgresql
    ranked, snippets = backend(query)
    pagination = paginate(listed(ranked), page, per_page)
    posts = list(pagination.items)
    marks = snippets([post.id for post in posts]) if posts else {}
    hits = [
        Hit(
            post,
            highlight(marks.get(post.id, (post.title, ""))[0]),
            highlight(marks.get(post.id, ("", post.summary))[1]),
        )
        for post in posts
    ]
    return SearchResults(raw, phrases, pagination, hits)


def _sqlite(query: str):
    rank = func.bm25(literal_column("posts_fts"), 10.0, 1.0, 4.0, 2.0)
    matches = (
        select(SQLITE_FTS.c.rowid.label("post_id"), rank.label("rank"))
        .where(literal_column("posts_fts").op("MATCH")(query))
        .subquery()
    )
    # bm25: lower is better.
    ranked = (
        visible_posts()
        .join(matches, matches.c.post_id == Post.id)
        .order_by(None)
        .order_by(matches.c.rank.asc(), Post.published_at.desc())
    )

    def snippets(ids: list[int]) -> dict[int, tuple[str, str]]:
        fts = literal_column("posts_fts")
        rows = db.session.execute(
            select(
                SQLITE_FTS.c.rowid,
                func.highlight(fts, 0, START, STOP),
                func.snippet(fts, 1, START, STOP, "…", 32),
            ).where(fts.op("MATCH")(query), SQLITE_FTS.c.rowid.in_(ids))
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    return ranked, snippets


def _postgresql(query: str):
    tsquery = func.websearch_to_tsquery(literal_column("'english'::regconfig"), query)
    matches = (
        select(PG_FTS.c.post_id, func.ts_rank_cd(PG_FTS.c.document, tsquery).label("rank"))
        .where(PG_FTS.c.document.op("@@")(tsquery))
        .subquery()
    )
    ranked = (
        visible_posts()
        .join(matches, matches.c.post_id == Post.id)
        .order_by(None)
        .order_by(matches.c.rank.desc(), Post.published_at.desc())
    )

    def snippets(ids: list[int]) -> dict[int, tuple[str, str]]:
        english = literal_column("'english'::regconfig")
        sel = f"StartSel={START}, StopSel={STOP}"
        rows = db.session.execute(
            select(
                Post.id,
                func.ts_headline(english, Post.title, tsquery, f"{sel}, HighlightAll=true"),
                func.ts_headline(
                    english,
                    Post.body_text,
                    tsquery,
                    f'{sel}, MaxWords=40, MinWords=20, MaxFragments=2, FragmentDelimiter=" … "',
                ),
            ).where(Post.id.in_(ids))
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    return ranked, snippets
