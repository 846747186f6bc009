"""The newsletter's emails: confirmation, "already subscribed", each issue for a subscriber.

Plain text and simple HTML, the site's name, the post's title, excerpt (or full text, an
admin setting) and its real link: no tracking pixel, no redirected links. Every issue has
RFC 8058 one-click unsubscribe headers and a visible unsubscribe link.
"""

from __future__ import annotations

import time

from flask import current_app, render_template
from sqlalchemy import select

from .. import site_settings
from ..email import queue_email
from ..extensions import db
from ..links import absolute_url_for
from ..models import Newsletter, NewsletterKind, Post, Setting, Subscriber, SubscriberStatus
from . import issues, services

FULL_TEXT_KEY = "newsletter_full_text"
UNSUBSCRIBE = "@@unsubscribe-link@@"  # filled in per subscriber in a body rendered once
_cache: dict[tuple, tuple[float, dict]] = {}
CACHE_SECONDS = 60


def full_text() -> bool:
    setting = db.session.get(Setting, FULL_TEXT_KEY)
    return setting is not None and setting.value == "1"


def set_full_text(value: bool) -> None:
    setting = db.session.get(Setting, FULL_TEXT_KEY) or Setting(key=FULL_TEXT_KEY)
    setting.value = "1" if value else "0"
    db.session.add(setting)
    db.session.commit()


def _render(name: str, **context) -> tuple[str, str]:
    text = render_template(f"newsletter/email/{name}.txt", **context)
    html = render_template(f"newsletter/email/{name}.html", **context)
    return text, html


def confirmation(subscriber: Subscriber) -> None:
    link = absolute_url_for("newsletter.confirm", token=services.confirm_token(subscriber))
    text, html = _render("confirm", link=link, subscriber=subscriber)
    queue_email(subscriber.email, f"Confirm your subscription to {_site()}", text, html)


def already_subscribed(subscriber: Subscriber) -> None:
    link = _unsubscribe_link(subscriber.id, subscriber.link_key)
    text, html = _render("already", unsubscribe=link, subscriber=subscriber)
    queue_email(subscriber.email, f"You are already subscribed to {_site()}", text, html)


def _site() -> str:
    return site_settings.current().title


def _unsubscribe_link(subscriber_id: int, link_key: str) -> str:
    return absolute_url_for(
        "newsletter.unsubscribe", token=services.unsubscribe_token(subscriber_id, link_key)
    )


def _post_context(post: Post) -> dict:
    return {"post": post, "link": absolute_url_for("posts.detail", slug=post.slug)}


def _issue_body(issue: Newsletter, category_ids: tuple[int, ...] | None) -> dict | None:
    """Subject, text and HTML of an issue (digest: only the subscriber's categories)."""
    key = (id(current_app._get_current_object()), issue.id, category_ids)
    cached = _cache.get(key)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    context = {"full_text": full_text(), "unsubscribe": UNSUBSCRIBE}
    if issue.kind == NewsletterKind.POST:
        if issue.post is None:
            return None
        text, html = _render("post", **context, **_post_context(issue.post))
        subject = issue.post.title
    else:
        posts = issues.digest_posts(issue)
        if category_ids is not None:
            posts = [p for p in posts if p.category_id in category_ids]
        if not posts:
            return None
        text, html = _render("digest", **context, items=[_post_context(p) for p in posts])
        subject = f"This week on {_site()}: {len(posts)} new post{'s' * (len(posts) != 1)}"
    body = {"subject": subject, "text": text, "html": html}
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = (time.monotonic(), body)
    return body


def preload(subscriber_ids: list[int]) -> None:
    """Load a batch's subscribers in one query (build() then finds them in the session)."""
    if subscriber_ids:
        db.session.scalars(select(Subscriber).where(Subscriber.id.in_(subscriber_ids))).all()


def build(issue_id: int, subscriber_id: int | None) -> dict | None:
    """The mail of one issue for one subscriber, or None when it should not go any more."""
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id else None
    issue = db.session.get(Newsletter, issue_id)
    if subscriber is None or issue is None or subscriber.status != SubscriberStatus.CONFIRMED:
        return None
    categories = None
    if issue.kind == NewsletterKind.DIGEST and not subscriber.all_categories:
        categories = tuple(sorted(c.id for c in subscriber.categories))
    body = _issue_body(issue, categories)
    if body is None:
        return None
    link = _unsubscribe_link(subscriber.id, subscriber.link_key)
    return {
        "subject": body["subject"],
        "text": body["text"].replace(UNSUBSCRIBE, link),
        "html": body["html"].replace(UNSUBSCRIBE, link),
        "headers": {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }


def send_test(post: Post, to: str) -> None:
    """An admin's "send me a test": the post's issue as subscribers would get it."""
    text, html = _render(
        "post",
        full_text=full_text(),
        unsubscribe=absolute_url_for("newsletter.subscribe"),
        **_post_context(post),
    )
    queue_email(to, f"[Test] {post.title}", text, html)
    db.session.commit()
