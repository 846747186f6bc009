"""Presenting a thread: the comments under a post as the viewer sees them.

Nodes and paging (one query a page, whatever the size), what the viewer may do to each
comment, and the held comments this browser posted, kept in its session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from flask import current_app, g, request, session, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from .. import database
from ..cache import viewer_part
from ..extensions import db
from ..inputs import page_number
from ..markup import strip_links
from ..models import Comment, CommentStatus, Post, User, role_badge
from ..templating import part_macro, rendered_once
from . import moderation
from .forms import CommentForm
from .services import can_delete, can_edit, is_following

HELD_KEY = "held_comments"  # comment ids this browser posted and moderators haven't decided
HELD_LIMIT = 20


class Node:
    """One comment as the thread shows it: its row's shown columns, its state and replies.

    Plain objects made from rows, not ORM instances: a thread page shows up to hundreds
    of comments, and loading them as models cost more than everything else on the page.
    Attribute names follow Comment's, so permission checks take either.
    """

    __slots__ = (
        "id",
        "parent_id",
        "user_id",
        "status",
        "state",
        "author_name",
        "guest_website",
        "created_at",
        "edited_at",
        "body_html",
        "replies",
        "closes",
        "badge",
    )

    def __init__(self, row, state: str):
        self.id, self.parent_id, self.user_id = row.id, row.parent_id, row.user_id
        self.status, self.guest_website = row.status, row.guest_website
        self.created_at, self.edited_at = row.created_at, row.edited_at
        # "held" is shown to its poster alone: without its links (only moderators see those).
        self.body_html = strip_links(row.body_html) if state == "held" else row.body_html
        self.state = state  # "approved", "held" or "placeholder" ([deleted])
        member = row.display_name or row.username
        self.author_name = member or row.guest_name or ("" if row.user_id else "former member")
        self.badge = role_badge(row.role)  # staff: Author, Editor, Moderator (issue 17)
        self.replies: list[Node] = []
        self.closes = 0  # reply lists that end after this comment (see in_page_order)

    @property
    def ended_lists(self) -> range:
        return range(self.closes)


def held_ids() -> list[int]:
    return [i for i in session.get(HELD_KEY, []) if isinstance(i, int)]


def remember_held(comment: Comment) -> None:
    session[HELD_KEY] = ([*held_ids(), comment.id])[-HELD_LIMIT:]


def forget_decided(decided: Iterable[int]) -> None:
    """Drop ids from the session once moderators decided them (so the cache can serve again)."""
    gone = set(decided)
    if gone and HELD_KEY in session:
        kept = [i for i in held_ids() if i not in gone]
        if kept:
            session[HELD_KEY] = kept
        else:
            session.pop(HELD_KEY)


# Made once: aliased() costs more than building and running the rest of the query.
_REPLY = aliased(Comment, name="reply")


def _roots_query(post_id, held, newest: bool) -> Select:
    """Top-level comments that show: approved, held for this browser, or with shown replies.

    post_id and held are values, or bind parameters in the statements built once below.
    """
    reply = _REPLY
    shown_reply = exists().where(
        reply.post_id == Comment.post_id,  # lets ix_comments_root (post_id, root_id) serve it
        reply.root_id == Comment.id,
        reply.id != Comment.id,
        or_(reply.status == CommentStatus.APPROVED, reply.id.in_(held)),
    )
    return (
        select(Comment.id)  # ids only: the thread query loads the comments themselves
        .where(
            Comment.post_id == post_id,
            Comment.parent_id.is_(None),
            or_(Comment.status == CommentStatus.APPROVED, Comment.id.in_(held), shown_reply),
        )
        .order_by(*_root_order(newest))
    )


def _root_order(newest: bool) -> tuple:
    if newest:
        return (Comment.created_at.desc(), Comment.id.desc())
    return (Comment.created_at, Comment.id)


def _thread_page(newest: bool) -> Select:
    """One page of threads in one statement, built once per order.

    The page's roots (with how many there are in all, and each one's place) joined to
    every comment of their threads: shown columns only, with the members' names. Run with
    bind parameters: building the statements and counting separately cost more than
    running the query.
    """
    post_id = bindparam("post_id")
    roots = (
        _roots_query(post_id, bindparam("held", expanding=True), newest)
        .add_columns(
            func.count().over().label("total"),
            func.row_number().over(order_by=_root_order(newest)).label("position"),
        )
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page_roots")
    )
    return (
        select(
            Comment.id,
            Comment.parent_id,
            Comment.user_id,
            Comment.status,
            Comment.guest_name,
            Comment.guest_website,
            Comment.created_at,
            Comment.edited_at,
            Comment.body_html,
            User.display_name,
            User.username,
            User.role,
            roots.c.id.label("thread_id"),
            roots.c.total,
            roots.c.position,
        )
        .join(roots, and_(Comment.post_id == post_id, Comment.root_id == roots.c.id))
        .outerjoin(User, User.id == Comment.user_id)
        .order_by(Comment.created_at, Comment.id)
    )


_THREAD_PAGE = {newest: _thread_page(newest) for newest in (False, True)}


@dataclass(frozen=True)
class ThreadPages:
    """Where a page of threads is among all of them (the template's pagination links)."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def load_thread(post: Post, page: int, newest: bool, held: list[int]):
    """One page of threads as trees, in one query whatever the size.

    Also returns which of the held ids moderators have decided since; reading changes
    nothing (the caller forgets them from the session).
    """
    if post.comment_count == 0 and not held:
        return [], None, []  # nothing approved, nothing of this browser's waiting: no queries
    per_page = current_app.config.get("COMMENT_THREADS_PER_PAGE", 50)
    rows = database.rows(
        _THREAD_PAGE[newest],
        {"post_id": post.id, "held": held, "limit": per_page, "offset": (page - 1) * per_page},
    )
    decided = [r.id for r in rows if r.id in held and r.status != CommentStatus.PENDING]
    positions = {row.thread_id: row.position for row in rows}
    root_ids = sorted(positions, key=positions.__getitem__)
    pages = ThreadPages(page, per_page, rows[0].total if rows else 0)
    return build_tree(rows, root_ids, set(held)), pages, decided


def build_tree(rows, root_ids: list[int], held: set[int]) -> list[Node]:
    nodes: dict[int, Node] = {}
    for row in rows:
        if row.status == CommentStatus.APPROVED:
            state = "approved"
        elif row.id in held and row.status == CommentStatus.PENDING:
            state = "held"
        else:
            state = "placeholder"
        nodes[row.id] = Node(row, state)
    roots = set(root_ids)
    for node in nodes.values():
        if node.parent_id in nodes and node.id not in roots:
            nodes[node.parent_id].replies.append(node)

    return _without_empty_placeholders([nodes[i] for i in root_ids if i in nodes])


def _without_empty_placeholders(threads: list[Node]) -> list[Node]:
    """Drop [deleted] comments with nothing shown under them, deepest first.

    No recursion: a chain of replies may be deeper than Python's recursion limit.
    """
    top_down: list[Node] = []
    stack = list(threads)
    while stack:
        node = stack.pop()
        top_down.append(node)
        stack.extend(node.replies)
    for node in reversed(top_down):  # every node after all of its replies
        node.replies = [r for r in node.replies if r.state != "placeholder" or r.replies]
    return [r for r in threads if r.state != "placeholder" or r.replies]


def in_page_order(threads: list[Node]) -> list[Node]:
    """The threads' comments in the order the page shows them, each followed by its replies.

    The template writes them in one flat loop (a recursive loop cost more than the
    comments' markup): a comment with replies opens their list; `closes` says how many
    lists (with their parents' items) end after a comment.
    """
    ordered: list[Node] = []
    lists = [iter(threads)]  # the lists being written, innermost last
    while lists:
        node = next(lists[-1], None)
        if node is None:  # a list ended: a reply list ends with its parent's item
            lists.pop()
            if lists:
                ordered[-1].closes += 1
        else:
            ordered.append(node)
            if node.replies:
                lists.append(iter(node.replies))
    return ordered


def thread_context(post: Post, args, form=None, notice: str = "") -> dict:
    """Template context for the comment thread and form under a post.

    The same for every viewer but the held comments this browser posted: what else differs
    per viewer (edit and delete links, the follow button, the form) comes from the parts
    below, so the thread can be shared (blogapp/cache/shared.py). form and notice: the
    form as the person filled it in, on an error page (None: a fresh one per viewer).
    """
    newest = args.get("order") == "newest"
    page = args.get("cpage", 1, type=page_number)
    threads, pagination, decided = load_thread(post, page, newest, held_ids())
    forget_decided(decided)
    return {
        "threads": threads,
        "thread_comments": in_page_order(threads),
        "thread_pages": pagination,
        "comment_order": "newest" if newest else "oldest",
        "comment_form": form,
        "comment_notice": notice,
        "comments_closed": moderation.closed_reason(post),
        "thread_links": ThreadLinks(reply=moderation.closed_reason(post) is None),
    }


class CommentLinks:
    """Comments' addresses."""

    def __init__(self):
        self._links: dict[str, tuple[str, str]] = {}

    def link(self, action: str, comment_id: int) -> str:
        """The comment's reply, edit or delete address, from one url_for per action a page.

        Building each through url_for costs more than rendering the comment: the address
        is made once with a stand-in id and the real id put in its place.
        """
        if action not in self._links:
            stand_in = 1_000_000_007
            address = url_for(f"comments.{action}", comment_id=stand_in)
            self._links[action] = tuple(address.split(str(stand_in), 1))
        before, after = self._links[action]
        return f"{before}{comment_id}{after}"


class ThreadLinks(CommentLinks):
    """What every viewer may do on a post's thread: reply, unless comments are closed."""

    def __init__(self, reply: bool):
        super().__init__()
        self.reply = reply


class Permissions(CommentLinks):
    """What the viewer may do to each comment on a post, without a query per comment.

    post needs only its author_id (the post's author moderates its comments).
    """

    def __init__(self, user: User | None, post):
        super().__init__()
        self.user = user if user is not None and not user.suspended else None
        self.post = post
        self.moderator = self.user is not None and self.user.can_moderate(post)

    def edit(self, comment: Comment) -> bool:
        return can_edit(comment, self.user)

    def delete(self, comment: Comment) -> bool:
        return can_delete(comment, self.user, self.moderator)


# -- the thread's per-viewer parts (see blogapp/cache/shared.py) -----------------------


class PostFacts(NamedTuple):
    """What the parts need of a post: plain values, stored with a shared page."""

    id: int
    slug: str
    author_id: int | None


class CommentFacts(NamedTuple):
    """What the permission checks read of a comment."""

    id: int
    user_id: int | None
    status: str
    created_at: datetime


def _viewer() -> User | None:
    # The user itself, not the proxy: a part may read it a hundred times a page.
    return current_user._get_current_object() if current_user.is_authenticated else None


def viewer_permissions(post_author: int | None) -> Permissions:
    """This viewer's Permissions on a post by post_author, made once per request."""
    made = g.get("comment_permissions")
    if made is None:
        made = g.comment_permissions = {}
    found = made.get(post_author)
    if found is None:
        found = made[post_author] = Permissions(_viewer(), PostFacts(0, "", post_author))
    return found


@viewer_part("comment_actions", batch=True)
def comment_actions_part(comments: list[dict]) -> list[str]:
    """Edit and delete on each comment, for its author (edit window) and moderators.

    Each dict: id, user_id, status, created (a timestamp), name, post_author.
    """
    user = _viewer()
    if user is None or user.suspended:
        return [""] * len(comments)
    out, known = [], {}
    for c in comments:
        can = known.get(c["post_author"])
        if can is None:
            can = known[c["post_author"]] = viewer_permissions(c["post_author"])
        if c["user_id"] != user.id and not can.moderator:
            out.append("")  # most comments, for most viewers: decided without building anything
            continue
        comment = CommentFacts(
            c["id"], c["user_id"], c["status"], datetime.fromtimestamp(c["created"], UTC)
        )
        edit, delete = can.edit(comment), can.delete(comment)
        if not (edit or delete):
            out.append("")
            continue
        edit_link = can.link("edit", c["id"]) if edit else None
        delete_link = can.link("confirm_delete", c["id"]) if delete else None
        macro = part_macro("comments/_macros.html", "comment_actions")
        out.append(macro(edit_link, delete_link, c["name"]))
    return out


@viewer_part("follow_form")
def follow_form_part(post_id: int, slug: str) -> str:
    user = _viewer()
    if user is None or user.suspended:
        return ""
    following = is_following(post_id, user.id)
    macro = part_macro("comments/_macros.html", "follow_form")
    return rendered_once(("follow_form", slug, following), lambda: macro(slug, following))


@viewer_part("comment_form_area")
def comment_form_area_part(slug: str, closed: str | None, form=None, notice: str = "") -> str:
    """The comment form (the one filled in, on an error page), or why there is none."""
    user = _viewer()
    if closed:
        viewer = "any"
    elif user is not None and user.suspended:
        viewer = "suspended"
    else:
        viewer = "member" if user is not None else "guest"
        if form is None:
            return _fresh_form(slug, viewer)
    return _form_area(closed, viewer, form, slug, notice)


def _form_area(closed, viewer: str, form, slug: str, notice: str) -> str:
    macro = part_macro("comments/_macros.html", "comment_form_area")
    return macro(closed, viewer, form, PostFacts(0, slug, None), notice)


# A fresh form's markup differs between viewers only in its token (the session's, or the
# guests' shared one) and time stamp, and WTForms took longer to render it than the rest
# of a member's page: it is rendered once per post and kind of viewer (in this app), and
# the form's own two values put in per request.
_FRESH_FORMS_LIMIT = 1000
_TOKEN_MARK, _STAMP_MARK = "\x00form-token\x00", "\x00form-stamp\x00"


def _fresh_form(slug: str, viewer: str) -> str:
    form = CommentForm.for_user(current_user)
    token, stamp = form.token or "", form.stamp.data
    made = current_app.extensions.setdefault("fresh_comment_forms", {})
    key = (slug, viewer, request.path, bool(token))  # the guest's sign-in link returns here
    html = made.get(key)
    if html is None:
        html = _form_area(None, viewer, form, slug, "")
        if token:
            html = html.replace(token, _TOKEN_MARK)
        html = html.replace(stamp, _STAMP_MARK)
        if len(made) >= _FRESH_FORMS_LIMIT:
            made.clear()
        made[key] = html
    # A rendered template; the token and stamp are URL-safe signed values.
    return Markup(html.replace(_TOKEN_MARK, token).replace(_STAMP_MARK, stamp))  # nosec B704


def thread_page_of(comment: Comment) -> int:
    """The page of the post's thread list that holds this comment's thread (oldest first)."""
    root = db.session.get(Comment, comment.root_id or comment.id) or comment
    before = _roots_query(comment.post_id, [], newest=False).where(
        or_(
            Comment.created_at < root.created_at,
            and_(Comment.created_at == root.created_at, Comment.id < root.id),
        )
    )
    count = db.session.scalar(select(func.count()).select_from(before.subquery())) or 0
    return count // current_app.config.get("COMMENT_THREADS_PER_PAGE", 50) + 1
