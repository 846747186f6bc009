"""The post page: the article, its neighbours and contents, and the comment thread under it.

Built here only: the post view renders it, and the comment views render it again (with
the form as the person filled it) when a comment can't be posted.
"""

from __future__ import annotations

from flask import render_template, request

from ..comments import thread
from ..models import Post
from . import review, services


def post_page_context(post: Post, args, comment_form=None, notice: str = "") -> dict:
    """Everything posts/detail.html shows, for this viewer (args: the query string)."""
    older, newer = services.neighbours(post)
    return {
        "post": post,
        "toc": services.table_of_contents(post),
        "older": older,
        "newer": newer,
        "related": services.related_posts(post),  # cached with the page (see there)
        "review": review.reader_facts(post),  # reviewed line, updated date, change notes
        **thread.thread_context(post, args, form=comment_form, notice=notice),
    }


def render_post_page(post: Post, comment_form=None, status: int = 200, notice="", headers=None):
    """The post page as a view's answer: html, status and headers."""
    html = render_template(
        "posts/detail.html", **post_page_context(post, request.args, comment_form, notice)
    )
    return html, status, headers or {}
