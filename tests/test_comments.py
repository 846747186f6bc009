"""Comments on the post page: posting, the thread, replies, edit and delete, hostile text."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, select

from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, Role, utcnow
from tests.builders import make_comment, make_post, make_user
from tests.helpers import csrf_token, post_form


@pytest.fixture
def post(app):
    with app.app_context():
        author = make_user("writer", role=Role.AUTHOR)
        post = make_post(author, title="Night shifts and sleep")
        return post.slug


def add(app, slug, body, status=CommentStatus.APPROVED, parent=None, user=None, **fields):
    """A stored comment, as the services would leave it; returns its id."""
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        parent_comment = db.session.get(Comment, parent) if parent else None
        comment = make_comment(post, body, status, parent_comment, user_id=user, **fields)
        return comment.id


def guest_comment(client, slug, body="Thank you for this.", **extra):
    data = {"name": "Ana", "email": "ana@example.org", "body": body, **extra}
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(f"/posts/{slug}/comments", data=data)


def status_of(app, comment_id=None, body=None):
    with app.app_context():
        query = select(Comment)
        query = (
            query.where(Comment.id == comment_id)
            if comment_id
            else query.where(Comment.body_md == body)
        )
        comment = db.session.scalar(query)
        return comment.status if comment else None


# ------------------------------------------------------------------ the form and the thread


def test_post_page_has_labelled_form_and_privacy_notice(client, post):
    page = client.get(f"/posts/{post}").text
    for label in ("Name", "Email", "Website (optional)", "Comment"):
        assert re.search(rf"<label[^>]*>{re.escape(label)}</label>", page), label
    assert "Post comment" in page
    assert "don't share personal health information" in page
    assert "not medical advice" in page


def test_member_form_asks_only_for_the_comment(client, auth, app, post):
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    page = client.get(f"/posts/{post}").text
    form = page.split('id="comment-form"', 1)[1].split("</form>", 1)[0]
    assert ">Comment</label>" in form
    assert ">Email</label>" not in form and ">Name</label>" not in form


def test_thread_is_nested_oldest_first_with_newest_switch(client, app, post):
    first = add(app, post, "First thoughts")
    reply = add(app, post, "A reply to the first", parent=first, guest_name="Bo")
    add(app, post, "Reply to the reply", parent=reply, guest_name="Cy")
    add(app, post, "Second thoughts", guest_name="Di")
    page = client.get(f"/posts/{post}").text
    assert page.index("First thoughts") < page.index("Second thoughts")
    item = re.search(rf'<li class="comment" id="comment-{first}">.*?</li>\s*<li', page, re.S)
    assert "A reply to the first" in item.group(0) and "Reply to the reply" in item.group(0)
    assert page.count('class="comment-replies"') == 2
    assert "Comments (4)" in page
    newest = client.get(f"/posts/{post}?order=newest").text
    assert newest.index("Second thoughts") < newest.index("First thoughts")
    assert f'href="#comment-{first}"' in page


class ThreadShape(HTMLParser):
    """Each comment item's enclosing comment item, read from the page's nesting.

    The thread is written by one flat loop that opens and closes the reply lists itself;
    an item closed in the wrong place would move comments to the wrong parent.
    """

    def __init__(self):
        super().__init__()
        self.open: list[str | None] = []  # the open <li>/<ol>: a comment id, or None
        self.parents: dict[str, str | None] = {}
        self.order: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("li", "ol"):
            return
        attrs = dict(attrs)
        comment = None
        if tag == "li" and "comment" in (attrs.get("class") or "").split():
            comment = attrs["id"]
            self.parents[comment] = next((c for c in reversed(self.open) if c), None)
            self.order.append(comment)
        self.open.append(comment)

    def handle_endtag(self, tag):
        if tag in ("li", "ol"):
            self.open.pop()


def test_deep_threads_nest_each_reply_under_its_parent(client, app, post):
    a = add(app, post, "A root")
    b = add(app, post, "B reply to A", parent=a)
    c = add(app, post, "C reply to B", parent=b)
    d = add(app, post, "D reply to A", parent=a)
    e = add(app, post, "E root")
    f = add(app, post, "F reply to E", parent=e)
    g = add(app, post, "G reply to F", parent=f)
    h = add(app, post, "H reply to G", parent=g)  # its end closes three lists at once
    i = add(app, post, "I root, no replies")
    shape = ThreadShape()
    shape.feed(client.get(f"/posts/{post}").text)
    assert shape.open == []  # every <li> and <ol> opened was closed
    expected = {a: None, b: a, c: b, d: a, e: None, f: e, g: f, h: g, i: None}
    assert shape.parents == {
        f"comment-{k}": (f"comment-{v}" if v else None) for k, v in expected.items()
    }
    assert shape.order == [f"comment-{n}" for n in (a, b, c, d, e, f, g, h, i)]


def test_a_reply_chain_deeper_than_pythons_recursion_limit_still_shows(client, app, post):
    """1,200 replies each to the one before: no step of the page recurses per level."""
    depth = 1200
    with app.app_context():
        target = db.session.scalar(select(Post).where(Post.slug == post))
        parent, ids = None, []
        for n in range(depth):
            # One deleted in the middle (shown as [deleted]: replies follow it) and the last
            # five (dropped: nothing shown under them).
            gone = n == depth // 2 or n >= depth - 5
            status = CommentStatus.DELETED if gone else CommentStatus.APPROVED
            parent = make_comment(target, f"Level {n}.", status, parent, commit=False)
            ids.append(parent.id)
        db.session.commit()
    response = client.get(f"/posts/{post}")
    assert response.status_code == 200
    shape = ThreadShape()
    shape.feed(response.text)
    assert shape.open == []
    shown = [f"comment-{i}" for i in ids[: depth - 5]]
    assert shape.order == shown
    assert all(shape.parents[child] == parent for parent, child in itertools.pairwise(shown))
    assert response.text.count("[deleted]") == 1
    assert f"Level {depth - 6}." in response.text and f"Level {depth - 5}." not in response.text


def test_count_shown_on_lists(client, app, post):
    add(app, post, "Counted")
    add(app, post, "Not counted", status=CommentStatus.PENDING)
    assert "1 comment<" in client.get("/").text


def test_threads_are_paged_fifty_a_page(client, app, post):
    for n in range(52):
        add(app, post, f"Thread number {n:02d}.")
    first = client.get(f"/posts/{post}").text
    assert "Thread number 49." in first and "Thread number 50." not in first
    assert "More comments" in first
    second = client.get(f"/posts/{post}?cpage=2").text
    assert "Thread number 51." in second and "Thread number 00." not in second


def test_post_author_comment_is_marked_and_edited_marker(client, app, post):
    with app.app_context():
        author_id = db.session.scalar(select(Post.author_id).where(Post.slug == post))
    add(app, post, "Author here", user=author_id, edited_at=utcnow())
    page = client.get(f"/posts/{post}").text
    assert "Post author" in page and "(edited)" in page


def test_deleted_comment_with_replies_shows_placeholder(client, app, post):
    gone = add(app, post, "Soon deleted", status=CommentStatus.DELETED)
    add(app, post, "Still here", parent=gone)
    lonely = add(app, post, "Deleted alone", status=CommentStatus.DELETED)
    page = client.get(f"/posts/{post}").text
    assert "[deleted]" in page and "Still here" in page
    assert "Soon deleted" not in page and "Deleted alone" not in page
    assert f"comment-{lonely}" not in page


def test_query_count_does_not_grow_with_comments(client, app, post):
    def count_queries(path):
        statements = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    member_ids = []
    with app.app_context():
        member_ids = [make_user().id for _ in range(3)]
    first = add(app, post, "The only one", user=member_ids[0])
    one = count_queries(f"/posts/{post}")
    roots = [first]
    with app.app_context():
        p = db.session.scalar(select(Post).where(Post.slug == post))
        for n in range(299):
            parent = db.session.get(Comment, roots[n % len(roots)]) if n % 3 else None
            who = {"user_id": member_ids[n % 3]} if n % 2 else {}
            c = make_comment(p, f"c{n}", parent=parent, guest_name="G", commit=False, **who)
            if parent is None:
                roots.append(c.id)
        db.session.commit()
    many = count_queries(f"/posts/{post}")
    assert "Comments (300)" in client.get(f"/posts/{post}").text
    assert many == one


# ------------------------------------------------------------------ posting outcomes


def test_guest_comment_is_held_and_shown_only_to_that_browser(client, app, post):
    response = guest_comment(client, post, "My first [comment](https://example.com/x).")
    assert response.status_code == 302 and "#comment-" in response.headers["Location"]
    page = client.get(response.headers["Location"]).text
    assert "held for review" in page
    assert "A first comment is reviewed" in page
    assert "Awaiting moderation" in page and "My first comment." in page
    assert "https://example.com/x" not in page  # no links in a held comment
    assert "Comments (0)" in page
    other = app.test_client().get(f"/posts/{post}").text
    assert "My first" not in other


def test_pending_links_never_shown_to_others(client, app, auth, post):
    add(app, post, "See [this](https://spam.example/)", status=CommentStatus.PENDING)
    with app.app_context():
        make_user("mia")
    for who in (None, "mia", "writer"):
        viewer = app.test_client()
        if who:
            from tests.helpers import AuthActions

            AuthActions(viewer).login(who)
        assert "spam.example" not in viewer.get(f"/posts/{post}").text


def test_guest_with_approved_email_publishes_at_once(client, app, post):
    add(app, post, "Earlier approved", guest_email="ana@example.org")
    response = guest_comment(client, post, "Back again")
    page = client.get(response.headers["Location"]).text
    assert "Your comment is published" in page
    assert status_of(app, body="Back again") == CommentStatus.APPROVED
    assert "Comments (2)" in page


def test_confirmed_member_publishes_and_unconfirmed_is_held(client, app, auth, post):
    with app.app_context():
        make_user("mia")
        make_user("newbie", confirmed=False)
    auth.login("mia")
    post_form(client, f"/posts/{post}/comments", {"body": "Member words"})
    assert status_of(app, body="Member words") == CommentStatus.APPROVED
    auth.logout()
    auth.login("newbie")
    response = post_form(client, f"/posts/{post}/comments", {"body": "Unconfirmed words"})
    assert status_of(app, body="Unconfirmed words") == CommentStatus.PENDING
    assert "haven't confirmed" in unescape(client.get(response.headers["Location"]).text)


@pytest.mark.parametrize(
    "body, why",
    [
        ("Call me at (555) 123-4567 any time", "a phone number"),
        ("write to nurse.joy@example.org", "an email address"),
        ("my SSN is 123-45-6789", "a Social Security number"),
        ("Patient MRN: 00482913 was mixed up", "a medical record number"),
        ("Call +44 20 7946 0958", "a phone number"),
        ("phone 555\u200b123\u200b4567", "a phone number"),
    ],
)
def test_contact_and_identity_details_are_held_with_reason(client, app, auth, post, body, why):
    with app.app_context():
        make_user("mia")
    auth.login("mia")  # even a trusted member is held
    response = post_form(client, f"/posts/{post}/comments", {"body": body})
    assert status_of(app, body=body) == CommentStatus.PENDING
    assert f"seems to contain {why}" in client.get(response.headers["Location"]).text


def test_more_than_two_links_held(client, app, auth, post):
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    two = "https://a.example.com https://b.example.org"
    post_form(client, f"/posts/{post}/comments", {"body": two})
    assert status_of(app, body=two) == CommentStatus.APPROVED
    three = two + " https://c.example.net"
    response = post_form(client, f"/posts/{post}/comments", {"body": three})
    assert status_of(app, body=three) == CommentStatus.PENDING
    assert "more than 2 links" in client.get(response.headers["Location"]).text


def test_admin_word_list_holds(client, app, auth, post):
    with app.app_context():
        make_user("boss", role=Role.ADMIN)
        make_user("mia")
    auth.login("boss")
    post_form(client, "/admin/comments/words", {"words": "miracle cure\nCrypto"})
    assert "miracle cure" in client.get("/admin/comments").text
    auth.logout()
    auth.login("mia")
    post_form(client, f"/posts/{post}/comments", {"body": "Try this Miracle  cure now"})
    post_form(client, f"/posts/{post}/comments", {"body": "buy crypto today"})
    post_form(client, f"/posts/{post}/comments", {"body": "cryptography is fine"})
    assert status_of(app, body="buy crypto today") == CommentStatus.PENDING
    assert status_of(app, body="cryptography is fine") == CommentStatus.APPROVED


def test_honeypot_is_silently_spam(client, app, post):
    add(app, post, "trusted", guest_email="ana@example.org")
    response = guest_comment(client, post, "Buy now", homepage="http://bot.example")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert "spam" not in page.lower().replace("spam.", "")
    assert status_of(app, body="Buy now") == CommentStatus.SPAM
    assert "Buy now" not in page


def test_too_fast_submission_is_spam_and_a_patient_one_is_not(client, app, post):
    app.config["COMMENT_MIN_SECONDS"] = 3
    add(app, post, "trusted", guest_email="ana@example.org")
    page = client.get(f"/posts/{post}").text
    stamp = re.search(r'name="stamp" type="hidden" value="([^"]+)"', page)
    assert stamp
    guest_comment(client, post, "Instant", stamp=stamp.group(1))
    assert status_of(app, body="Instant") == CommentStatus.SPAM
    guest_comment(client, post, "No stamp at all")
    assert status_of(app, body="No stamp at all") == CommentStatus.SPAM
    with app.test_request_context():
        import time
        from unittest import mock

        from blogapp.comments.moderation import form_stamp

        with mock.patch("time.time", return_value=time.time() - 30):
            old = form_stamp()
    guest_comment(client, post, "Took my time", stamp=old)
    assert status_of(app, body="Took my time") == CommentStatus.APPROVED


def test_duplicate_refused_and_text_kept(client, app, post):
    guest_comment(client, post, "Same words")
    response = guest_comment(client, post, "Same words")
    assert response.status_code == 400
    assert "already posted this comment" in response.text
    assert "Same words</textarea>" in response.text


def test_flood_limit_per_address_429_keeps_text(client, app, auth, post):
    app.config.update(RATELIMIT_ENABLED=True, COMMENT_FLOOD_LIMIT=3)
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    for n in range(3):
        assert post_form(client, f"/posts/{post}/comments", {"body": f"n{n}"}).status_code == 302
    response = post_form(client, f"/posts/{post}/comments", {"body": "one too many"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert "too quickly" in response.text and "one too many</textarea>" in response.text
    # Another address is not affected.
    other = post_form(
        client,
        f"/posts/{post}/comments",
        {"body": "elsewhere"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other.status_code == 302


def test_validation_errors_keep_everything_typed(client, post):
    response = guest_comment(
        client, post, "Kept text", name="", email="not-an-email", website="javascript:alert(1)"
    )
    assert response.status_code == 400
    assert "Kept text</textarea>" in response.text
    assert 'value="not-an-email"' in response.text
    assert "Give a name" in response.text and "email address like" in response.text
    assert "https://" in response.text  # the website hint


def test_missing_csrf_refused(client, post):
    response = client.post(
        f"/posts/{post}/comments", data={"body": "x", "name": "A", "email": "a@example.org"}
    )
    assert response.status_code == 400


def test_closed_comments_refused_with_text_kept(client, app, post):
    with app.app_context():
        p = db.session.scalar(select(Post).where(Post.slug == post))
        p.comments_open = False
        db.session.commit()
    page = client.get(f"/posts/{post}").text
    assert "Comments are closed" in page and "Post comment" not in page
    response = guest_comment(client, post, "Too late?")
    assert response.status_code == 403 and "Comments are closed" in response.text


def test_comments_close_after_configured_days(client, app, post):
    app.config["COMMENTS_CLOSE_AFTER_DAYS"] = 30
    with app.app_context():
        old = make_post(title="Old news", published_ago=timedelta(days=31))
        slug = old.slug
    assert "Post comment" in client.get(f"/posts/{post}").text
    assert "close 30 days" in client.get(f"/posts/{slug}").text
    assert guest_comment(client, slug, "late").status_code == 403


def test_suspended_member_refused_everywhere(client, app, auth, post):
    target = add(app, post, "Reply target")
    with app.app_context():
        user = make_user("sus")
        own = add(app, post, "Own comment", user=user.id)
    auth.login("sus")
    with app.app_context():
        u = db.session.scalar(select(type(user)).where(type(user).username == "sus"))
        u.suspended = True
        db.session.commit()
    # The suspended session ends: no member form, and posting as them is impossible.
    assert ">Name</label>" in client.get(f"/posts/{post}").text
    assert post_form(client, f"/posts/{post}/comments", {"body": "sneaky"}).status_code == 400
    assert status_of(app, body="sneaky") is None
    assert post_form(client, f"/comments/{own}/delete").status_code == 401
    assert client.get(f"/comments/{own}/edit").status_code == 302
    with app.app_context():
        from blogapp.comments import services
        from blogapp.comments.moderation import Refused

        u = db.session.scalar(select(type(user)).where(type(user).username == "sus"))
        p = db.session.scalar(select(Post).where(Post.slug == post))
        for attempt in (
            lambda: services.add_comment(p, services.Draft(body="x", parent_id=target), u, ""),
            lambda: services.edit_comment(db.session.get(Comment, own), u, "changed"),
            lambda: services.delete_comment(db.session.get(Comment, own), u),
            lambda: services.set_following(p, u, True),
        ):
            with pytest.raises(Refused):
                attempt()


# ------------------------------------------------------------------ replies, edit, delete


def test_reply_page_without_javascript(client, app, auth, post):
    parent = add(app, post, "Original point")
    page = client.get(f"/comments/{parent}/reply").text
    assert "Reply to Ana" in page and "Original point" in page and "Post reply" in page
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    response = post_form(
        client, f"/posts/{post}/comments", {"body": "I agree", "parent_id": str(parent)}
    )
    assert response.status_code == 302
    page = client.get(f"/posts/{post}").text
    item = re.search(rf'id="comment-{parent}">.*?</li>', page, re.S).group(0)
    assert "comment-replies" in page and "I agree" in page
    assert page.index("Original point") < page.index("I agree")
    assert item


def test_reply_error_rerenders_reply_page(client, app, post):
    parent = add(app, post, "Original point")
    response = guest_comment(client, post, "", parent_id=str(parent))
    assert response.status_code == 400 and "Reply to Ana" in response.text


def test_reply_to_unapproved_or_foreign_comment_refused(client, app, post):
    held = add(app, post, "held one", status=CommentStatus.PENDING)
    assert client.get(f"/comments/{held}/reply").status_code == 404
    response = guest_comment(client, post, "reply to held", parent_id=str(held))
    assert response.status_code == 400 and "no longer available" in response.text
    assert guest_comment(client, post, "bad", parent_id="abc").status_code == 400


def test_member_edits_within_window_only(client, app, auth, post):
    with app.app_context():
        uid = make_user("mia").id
    fresh = add(app, post, "Typo hre", user=uid)
    stale = add(app, post, "Old words", user=uid, created_at=utcnow() - timedelta(minutes=16))
    auth.login("mia")
    assert "Edit</a>" in client.get(f"/posts/{post}").text
    assert client.get(f"/comments/{fresh}/edit").status_code == 200
    response = post_form(client, f"/comments/{fresh}/edit", {"body": "Typo here"})
    assert response.status_code == 302
    page = client.get(f"/posts/{post}").text
    assert "Typo here" in page and "(edited)" in page
    assert client.get(f"/comments/{stale}/edit").status_code == 403
    response = post_form(client, f"/comments/{stale}/edit", {"body": "Too late"})
    assert response.status_code == 403
    assert status_of(app, body="Old words") == CommentStatus.APPROVED


def test_edit_is_rechecked_by_the_rules(client, app, auth, post):
    with app.app_context():
        uid = make_user("mia").id
    cid = add(app, post, "Fine words", user=uid)
    auth.login("mia")
    response = post_form(client, f"/comments/{cid}/edit", {"body": "ring me 555-123-4567"})
    assert "seems to contain a phone number" in client.get(response.headers["Location"]).text
    assert status_of(app, cid) == CommentStatus.PENDING


@pytest.mark.parametrize(
    "who, can",
    [
        (None, False),
        ("stranger", False),
        ("owner", True),
        ("writer", True),
        ("boss", True),
        ("other_author", False),
    ],
)
def test_delete_route_by_role(app, post, who, can):
    with app.app_context():
        owner = make_user("owner").id
        make_user("stranger")
        make_user("boss", role=Role.ADMIN)
        make_user("other_author", role=Role.AUTHOR)
    cid = add(app, post, "Deletable", user=owner)
    client = app.test_client()
    if who:
        from tests.helpers import AuthActions

        AuthActions(client).login(who)
    response = post_form(client, f"/comments/{cid}/delete")
    assert response.status_code == (302 if can else (401 if who is None else 403))
    assert (status_of(app, cid) is None) == can
    if can:
        assert "Deletable" not in client.get(f"/posts/{post}").text


def test_deleting_a_comment_with_replies_leaves_placeholder(client, app, auth, post):
    with app.app_context():
        uid = make_user("mia").id
    cid = add(app, post, "Regrettable", user=uid)
    add(app, post, "A reply", parent=cid)
    auth.login("mia")
    post_form(client, f"/comments/{cid}/delete")
    page = client.get(f"/posts/{post}").text
    assert "[deleted]" in page and "A reply" in page and "Regrettable" not in page
    assert "Comments (1)" in page


def test_permalink_redirects_to_the_right_page(client, app, post):
    for n in range(51):
        last = add(app, post, f"t{n}")
    reply = add(app, post, "late reply", parent=last)
    location = client.get(f"/comments/{reply}").headers["Location"]
    assert f"cpage=2#comment-{reply}" in location
    assert f"cpage=2#comment-{last}" in client.get(f"/comments/{last}").headers["Location"]
    assert (
        client.get(f"/comments/{last - 50}")
        .headers["Location"]
        .endswith(f"/posts/{post}#comment-{last - 50}")
    )
    assert "late reply" in client.get(location).text


def test_held_ids_leave_the_session_once_decided(client, app, post):
    response = guest_comment(client, post, "Waiting")
    client.get(response.headers["Location"])
    with client.session_transaction() as session:
        held = session["held_comments"]
    with app.app_context():
        from blogapp.comments.services import moderate

        moderate([db.session.get(Comment, held[0])], "approve")
    assert "Waiting" in client.get(f"/posts/{post}").text
    with client.session_transaction() as session:
        assert "held_comments" not in session


def test_loading_a_thread_reads_without_writing_the_session(app, post):
    """The read says which held comments were decided; only the page forgets them."""
    from flask import session

    from blogapp.comments import thread

    decided = add(app, post, "Was held, now approved")
    with app.test_request_context(f"/posts/{post}"):
        session["held_comments"] = [decided]
        session.modified = False
        found = db.session.scalar(select(Post).where(Post.slug == post))
        threads, pages, forget = thread.load_thread(found, 1, False, [decided])
        assert forget == [decided] and [node.id for node in threads] == [decided]
        assert not session.modified and session["held_comments"] == [decided]


def test_follow_toggle(client, app, auth, post):
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    assert "Follow this discussion" in client.get(f"/posts/{post}").text
    post_form(client, f"/posts/{post}/follow", {"follow": "1"})
    assert "Stop following this discussion" in client.get(f"/posts/{post}").text
    post_form(client, f"/posts/{post}/follow", {"follow": "0"})
    assert "Follow this discussion" in client.get(f"/posts/{post}").text
    assert app.test_client().post(f"/posts/{post}/follow").status_code == 400  # no CSRF


# ------------------------------------------------------------------ hostile text


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<svg onload="alert(1)">',
    "\u202eevil\u202c text with bidi override",
    "zero\u200bwidth\u200djoin\ufeff",
    "𝕳𝖊𝖑𝖑𝖔 🏳️‍🌈 ｆｕｌｌｗｉｄｔｈ \U0010ffff",
    "a" * 4999,
    "<style>body{display:none}</style>",
    "[x](JaVaScRiPt:alert(1))",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_text_is_inert(client, app, auth, post, body):
    with app.app_context():
        make_user("mia")
    auth.login("mia")
    response = post_form(client, f"/posts/{post}/comments", {"body": body})
    assert response.status_code == 302
    page = client.get(f"/posts/{post}").text
    section = page[page.index('id="comments"') :]
    assert "<script>" not in section and "<style>" not in section and "<img" not in section
    assert not re.search(r"<[^>]*\son\w+\s*=", section)  # no event handler on any tag
    assert not re.search(r"href=\"\s*javascript:", section, re.I)
    assert "\u202e" not in section


def test_huge_comment_is_a_form_error_not_a_500(client, post):
    response = guest_comment(client, post, "x" * 6000)
    assert response.status_code == 400 and "under 5000 characters" in response.text
