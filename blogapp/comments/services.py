"""Comment work views share: the thread under a post, posting, editing, deleting, moderating."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, session, url_for
from flask_login import current_user
from sqlalchemy import Select, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from .. import database
from ..extensions import db
from ..inputs import optional_int, page_number
from ..markup import render_comment, strip_links
from ..models import Comment, CommentStatus, Post, Subscription, User, utcnow
from . import moderation, notifications
from .moderation import Refused, Verdict

HELD_KEY = "held_comments"  # comment ids this browser posted and moderators haven't decided
HELD_LIMIT = 20

# ---------------------------------------------------------------- the thread on the post page


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
    """One page of threads as trees, in one query whatever the size."""
    if post.comment_count == 0 and not held:
        return [], None  # nothing approved, nothing of this browser's waiting: no queries
    per_page = current_app.config.get("COMMENT_THREADS_PER_PAGE", 50)
    rows = database.rows(
        _THREAD_PAGE[newest],
        {"post_id": post.id, "held": held, "limit": per_page, "offset": (page - 1) * per_page},
    )
    if held:
        forget_decided(r.id for r in rows if r.id in held and r.status != CommentStatus.PENDING)
    positions = {row.thread_id: row.position for row in rows}
    root_ids = sorted(positions, key=positions.__getitem__)
    pages = ThreadPages(page, per_page, rows[0].total if rows else 0)
    return build_tree(rows, root_ids, set(held)), pages


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
    """Template context for the comment thread and form under a post."""
    from .forms import CommentForm

    newest = args.get("order") == "newest"
    page = args.get("cpage", 1, type=page_number)
    threads, pagination = load_thread(post, page, newest, held_ids())
    if form is None:
        form = CommentForm.for_user(current_user)
    user = current_user if current_user.is_authenticated else None
    return {
        "threads": threads,
        "thread_comments": in_page_order(threads),
        "thread_pages": pagination,
        "comment_order": "newest" if newest else "oldest",
        "comment_form": form,
        "comment_notice": notice,
        "comments_closed": moderation.closed_reason(post),
        "following": user is not None and is_following(post, user),
        "comment_permissions": Permissions(user, post),
    }


class Permissions:
    """What the viewer may do to each comment on a post, without a query per comment."""

    def __init__(self, user: User | None, post: Post):
        self.user = user if user is not None and not user.suspended else None
        self.post = post
        self.moderator = self.user is not None and self.user.can_moderate(post)
        self.reply = moderation.closed_reason(post) is None
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

    def edit(self, comment: Comment) -> bool:
        return can_edit(comment, self.user)

    def delete(self, comment: Comment) -> bool:
        if self.user is None or comment.status == CommentStatus.DELETED:
            return False
        return self.moderator or comment.user_id == self.user.id


def can_edit(comment: Comment, user: User | None) -> bool:
    if user is None or not user.is_authenticated or user.suspended:
        return False
    window = timedelta(minutes=current_app.config.get("COMMENT_EDIT_MINUTES", 15))
    return (
        comment.user_id == user.id
        and comment.status in (CommentStatus.APPROVED, CommentStatus.PENDING)
        and utcnow() < comment.created_at + window
    )


def can_delete(comment: Comment, user: User | None) -> bool:
    return Permissions(user, comment.post).delete(comment)


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


def get_comment(comment_id: int) -> Comment | None:
    return db.session.get(Comment, comment_id)


# ---------------------------------------------------------------- posting


@dataclass
class Draft:
    body: str
    name: str = ""
    email: str = ""
    website: str = ""
    parent_id: int | None = None
    honeypot: str = ""
    stamp: str | None = None


def add_comment(post: Post, draft: Draft, user: User | None, ip: str) -> tuple[Comment, Verdict]:
    """Check the rules, store the comment, email whom it concerns; Refused when not accepted."""
    if user is not None and user.suspended:
        raise Refused("Your account is suspended, so you can't comment.", 403)
    if reason := moderation.closed_reason(post):
        raise Refused(reason, 403)
    parent = None
    if draft.parent_id:
        parent = db.session.get(Comment, draft.parent_id)
        if parent is None or parent.post_id != post.id or parent.status != CommentStatus.APPROVED:
            raise Refused("The comment you replied to is no longer available.", 400)
    body = moderation.clean_text(draft.body).strip()
    email = (user.email if user is not None else draft.email) or ""
    guest_email = "" if user is not None else email.lower()
    moderation.check_flood(ip)
    moderation.check_duplicate(post, body, user, guest_email)
    verdict = moderation.assess(post, body, user, email, draft.honeypot, draft.stamp)
    comment = Comment(
        post=post,
        parent=parent,
        user=user,
        guest_name="" if user is not None else moderation.clean_name(draft.name)[:80],
        guest_email=guest_email,
        guest_website="" if user is not None else draft.website.strip()[:300],
        status=verdict.status,
        held_reason=verdict.reason[:200],
        body_md=body,
        body_html=render_comment(body),
        ip=ip,
    )
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent is not None else comment.id
    recount(post)
    db.session.commit()
    if not verdict.silent:
        notifications.comment_added(comment)
    return comment, verdict


def recount(post: Post) -> None:
    """Post.comment_count = approved comments, without touching the post's updated_at."""
    # Lock the post row first, in its own statement: under READ COMMITTED (PostgreSQL) an
    # UPDATE that waited for the row counts with the snapshot it took before waiting, and
    # would miss a comment committed meanwhile. NO KEY UPDATE (key_share) doesn't clash
    # with the KEY SHARE lock that inserting a comment's foreign key holds, so two
    # commenters can't deadlock. SQLite takes the write lock at BEGIN and needs none.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(Post.id).where(Post.id == post.id).with_for_update(key_share=True)
        )
    approved = (
        select(func.count(Comment.id))
        .where(Comment.post_id == post.id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    db.session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(comment_count=approved, updated_at=Post.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(post, ["comment_count", "updated_at"])


# ---------------------------------------------------------------- editing and deleting


def edit_comment(comment: Comment, user: User, body: str) -> Verdict:
    """Change a comment's text inside the edit window, re-checked by the same rules."""
    if not can_edit(comment, user):
        raise Refused("The time to edit this comment has passed.", 403)
    body = moderation.clean_text(body).strip()
    verdict = Verdict(CommentStatus.APPROVED)
    if not user.can_moderate(comment.post):
        verdict = moderation.review(body, user, user.email or "")
    was_approved = comment.status == CommentStatus.APPROVED
    comment.body_md = body
    comment.body_html = render_comment(body)
    comment.edited_at = utcnow()
    comment.status = verdict.status
    comment.held_reason = verdict.reason[:200]
    recount(comment.post)
    db.session.commit()
    if verdict.status == CommentStatus.APPROVED and not was_approved:
        notifications.comment_approved(comment)
    return verdict


def remove(comment: Comment) -> None:
    """Delete a comment: a row with replies stays as a text-less "[deleted]" placeholder."""
    has_replies = db.session.scalar(
        select(Comment.id).where(Comment.parent_id == comment.id).limit(1)
    )
    post = comment.post
    if has_replies is not None:
        comment.status = CommentStatus.DELETED
        comment.body_md = comment.body_html = ""
        comment.guest_email = comment.guest_website = ""
    else:
        db.session.delete(comment)
    db.session.flush()
    recount(post)


def delete_comment(comment: Comment, user: User) -> None:
    if not can_delete(comment, user):
        raise Refused("You can't delete this comment.", 403)
    remove(comment)
    db.session.commit()


# ---------------------------------------------------------------- moderation


ACTIONS = {"approve": CommentStatus.APPROVED, "spam": CommentStatus.SPAM, "delete": "delete"}


def moderate(comments: Iterable[Comment], action: str) -> int:
    """Approve, mark as spam or delete comments; returns how many changed."""
    newly_approved: list[Comment] = []
    posts: dict[int, Post] = {}
    changed = 0
    for comment in comments:
        posts[comment.post_id] = comment.post
        if action == "delete":
            remove(comment)
        elif action in ("approve", "spam"):
            status = ACTIONS[action]
            if comment.status == status:
                continue
            if status == CommentStatus.APPROVED and comment.status != CommentStatus.DELETED:
                newly_approved.append(comment)
            elif comment.status == CommentStatus.DELETED:
                continue  # nothing left to approve
            comment.status = status
            comment.held_reason = ""
        else:
            raise ValueError(action)
        changed += 1
    for post_id in sorted(posts):  # one lock order for every moderator: no deadlock
        recount(posts[post_id])
    db.session.commit()
    for comment in newly_approved:
        notifications.comment_approved(comment)
    return changed


def queue_query(user: User, status: str, post_id: int | None, commenter: str | None):
    """Comments for the moderation queue; authors see their own posts' comments only."""
    query = (
        select(Comment)
        .join(Comment.post)
        .where(Comment.status == status)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )
    if not user.is_admin:
        query = query.where(Post.author_id == user.id)
    if post_id:
        query = query.where(Comment.post_id == post_id)
    if commenter:
        kind, _, value = commenter.partition(":")
        if kind == "user":
            query = query.where(Comment.user_id == optional_int(value))
        else:
            query = query.where(Comment.user_id.is_(None), Comment.guest_email == value.lower())
    return query


def moderatable(user: User, ids: list[int]) -> list[Comment]:
    """The comments among ids this user may moderate (admins: all; authors: on own posts)."""
    if not ids:
        return []
    query = select(Comment).join(Comment.post).where(Comment.id.in_(ids))
    if not user.is_admin:
        query = query.where(Post.author_id == user.id)
    return list(db.session.scalars(query).unique())


def queue_counts(user: User) -> dict[str, int]:
    query = (
        select(Comment.status, func.count(Comment.id)).join(Comment.post).group_by(Comment.status)
    )
    if not user.is_admin:
        query = query.where(Post.author_id == user.id)
    return dict(db.session.execute(query).all())


# ---------------------------------------------------------------- following


def is_following(post: Post, user: User) -> bool:
    query = select(Subscription.id).where(
        Subscription.post_id == post.id, Subscription.user_id == user.id
    )
    return db.session.scalar(query) is not None


def set_following(post: Post, user: User, follow: bool) -> None:
    if user.suspended:
        raise Refused("Your account is suspended.", 403)
    if follow and not is_following(post, user):
        db.session.add(Subscription(post_id=post.id, user_id=user.id))
    elif not follow:
        db.session.execute(
            delete(Subscription).where(
                Subscription.post_id == post.id, Subscription.user_id == user.id
            )
        )
    db.session.commit()


# ---------------------------------------------------------------- privacy


def purge_old(days: int = 30) -> int:
    """Remove held and spam comments older than `days`; returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    old = db.session.scalars(
        select(Comment).where(
            Comment.status.in_((CommentStatus.PENDING, CommentStatus.SPAM)),
            Comment.created_at < cutoff,
        )
    ).all()
    for comment in old:
        remove(comment)
        if comment.status == CommentStatus.DELETED:  # kept as a placeholder for its replies
            comment.ip = ""
    db.session.commit()
    return len(old)
