"""Moderation: the queue by role, bulk actions, email links, notifications, privacy."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from blogapp.comments.moderation import truncate_ip
from blogapp.extensions import db
from blogapp.models import Comment, CommentStatus, Post, Role, Subscription, User, utcnow
from tests.builders import make_post, make_user
from tests.helpers import AuthActions, csrf_token, post_form, record_mail
from tests.test_comments import add, guest_comment, status_of


@pytest.fixture
def people(app):
    with app.app_context():
        writer = make_user("writer", role=Role.AUTHOR)
        other = make_user("other_author", role=Role.AUTHOR)
        make_user("boss", role=Role.ADMIN)
        make_user("mia")
        mine = make_post(writer, title="Writer's post")
        theirs = make_post(other, title="Other author's post")
        return {"mine": mine.slug, "theirs": theirs.slug}


def signed_in(app, who):
    client = app.test_client()
    if who:
        AuthActions(client).login(who)
    return client


def links_in(message_text: str) -> list[str]:
    return re.findall(r"https?://\S+", message_text)


# ------------------------------------------------------------------ the queue


@pytest.mark.parametrize("who, code", [(None, 302), ("mia", 403), ("writer", 200), ("boss", 200)])
def test_queue_access_by_role(app, people, who, code):
    response = signed_in(app, who).get("/admin/comments")
    assert response.status_code == code
    if who is None:
        assert "/auth/login" in response.headers["Location"]


def test_author_sees_only_own_posts_comments(app, people):
    add(app, people["mine"], "On my post", status=CommentStatus.PENDING)
    add(app, people["theirs"], "On their post", status=CommentStatus.PENDING)
    writer = signed_in(app, "writer").get("/admin/comments").text
    assert "On my post" in writer and "On their post" not in writer
    boss = signed_in(app, "boss").get("/admin/comments").text
    assert "On my post" in boss and "On their post" in boss
    assert "Moderation word list" in boss and "Moderation word list" not in writer


def test_queue_tabs_and_filters(app, people):
    add(
        app,
        people["mine"],
        "Pending one",
        status=CommentStatus.PENDING,
        guest_email="x@example.org",
    )
    add(app, people["mine"], "Spam one", status=CommentStatus.SPAM)
    add(app, people["mine"], "Approved one")
    add(app, people["theirs"], "Pending elsewhere", status=CommentStatus.PENDING)
    client = signed_in(app, "boss")
    page = client.get("/admin/comments").text
    assert "Pending (2)" in page and "Spam (1)" in page and "Approved (1)" in page
    assert "Spam one" not in page
    assert "Spam one" in client.get("/admin/comments?status=spam").text
    assert "Approved one" in client.get("/admin/comments?status=approved").text
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == people["mine"]))
    by_post = client.get(f"/admin/comments?post={post_id}").text
    assert "Pending one" in by_post and "Pending elsewhere" not in by_post
    history = re.search(r'href="([^"]*x@example.org)">History', page).group(1)
    by_commenter = client.get(unescape(history)).text
    assert "Pending one" in by_commenter and "Pending elsewhere" not in by_commenter
    assert client.get("/admin/comments?status=nonsense&post=abc&page=-4").status_code == 200


def test_bulk_approve_spam_delete_keep_count(app, people):
    a = add(app, people["mine"], "First held", status=CommentStatus.PENDING)
    b = add(app, people["mine"], "Second held", status=CommentStatus.PENDING)
    c = add(app, people["mine"], "Third held", status=CommentStatus.PENDING)
    client = signed_in(app, "writer")
    response = post_form(client, "/admin/comments", {"ids": [str(a), str(b)], "action": "approve"})
    assert response.status_code == 302
    assert "2 comments approved" in client.get(response.headers["Location"]).text
    page = client.get(f"/posts/{people['mine']}").text
    assert "First held" in page and "Second held" in page and "Comments (2)" in page
    post_form(client, "/admin/comments", {"ids": [str(b)], "action": "spam"})
    post_form(client, "/admin/comments", {"ids": [str(c)], "action": "delete"})
    page = client.get(f"/posts/{people['mine']}").text
    assert "Second held" not in page and "Comments (1)" in page
    assert status_of(app, b) == CommentStatus.SPAM and status_of(app, c) is None


def test_author_cannot_act_on_others_posts(app, people):
    theirs = add(app, people["theirs"], "Not yours", status=CommentStatus.PENDING)
    client = signed_in(app, "writer")
    response = post_form(client, "/admin/comments", {"ids": [str(theirs)], "action": "approve"})
    assert "Choose at least one" in client.get(response.headers["Location"]).text
    assert status_of(app, theirs) == CommentStatus.PENDING


def test_queue_post_needs_csrf_and_valid_action(app, people):
    cid = add(app, people["mine"], "Held", status=CommentStatus.PENDING)
    client = signed_in(app, "boss")
    assert (
        client.post("/admin/comments", data={"ids": [str(cid)], "action": "approve"}).status_code
        == 400
    )
    assert (
        post_form(client, "/admin/comments", {"ids": [str(cid)], "action": "nuke"}).status_code
        == 400
    )
    assert status_of(app, cid) == CommentStatus.PENDING


def test_member_cannot_post_to_queue_or_word_list(app, people):
    cid = add(app, people["mine"], "Held", status=CommentStatus.PENDING)
    client = signed_in(app, "mia")
    assert (
        post_form(client, "/admin/comments", {"ids": [str(cid)], "action": "approve"}).status_code
        == 403
    )
    writer = signed_in(app, "writer")
    assert post_form(writer, "/admin/comments/words", {"words": "x"}).status_code == 403
    assert status_of(app, cid) == CommentStatus.PENDING


def test_pending_links_shown_to_moderators_in_queue(app, people):
    add(app, people["mine"], "See [it](https://example.com/held)", status=CommentStatus.PENDING)
    assert "https://example.com/held" in signed_in(app, "writer").get("/admin/comments").text


# ------------------------------------------------------------------ email


def test_author_emailed_with_confirmation_links_that_act_only_on_post(app, people):
    client = app.test_client()
    with record_mail(app) as outbox:
        guest_comment(client, people["mine"], "A question for the writer")
    assert len(outbox) == 1
    message = outbox[0]
    assert message.recipients == ["writer@example.org"]
    assert "A question for the writer" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    approve = re.search(r"Approve: (\S+)", message.body).group(1)
    path = approve.split("localhost", 1)[1]
    scanner = app.test_client()
    page = scanner.get(path)
    assert page.status_code == 200 and "Approve comment</button>" in page.text
    assert status_of(app, body="A question for the writer") == CommentStatus.PENDING
    response = post_form(scanner, path)
    assert response.status_code == 302
    assert status_of(app, body="A question for the writer") == CommentStatus.APPROVED
    assert "A question for the writer" in scanner.get(f"/posts/{people['mine']}").text


def test_forged_or_foreign_moderation_link_refused(app, people):
    from blogapp.comments.notifications import moderation_token

    cid = add(app, people["theirs"], "Held", status=CommentStatus.PENDING)
    with app.test_request_context():
        comment = db.session.get(Comment, cid)
        writer = db.session.scalar(select(User).where(User.username == "writer"))
        token = moderation_token(comment, "approve", writer)  # writer doesn't own that post
    client = app.test_client()
    assert client.get("/comments/moderate/not-a-token").status_code == 404
    assert client.get(f"/comments/moderate/{token}").status_code == 403
    assert post_form(client, f"/comments/moderate/{token}").status_code == 403
    assert status_of(app, cid) == CommentStatus.PENDING


def test_unsubscribe_link_get_shows_button_post_acts_one_click(app, people):
    client = app.test_client()
    with record_mail(app) as outbox:
        guest_comment(client, people["mine"], "Hello writer")
    header = outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = header.split("localhost", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe</button>" in page.text
    with app.app_context():
        assert db.session.scalar(select(User.notify_comments).where(User.username == "writer"))
    # RFC 8058: the mail provider POSTs with no cookies and no CSRF token.
    response = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Done" in response.text
    with app.app_context():
        assert not db.session.scalar(select(User.notify_comments).where(User.username == "writer"))
    with record_mail(app) as outbox:
        guest_comment(app.test_client(), people["mine"], "Nobody told")
    assert outbox == []
    assert app.test_client().get("/comments/unsubscribe/forged").status_code == 404


def test_reply_and_follower_notifications(app, people):
    with app.app_context():
        ana = make_user("ana", notify_replies=True)
        quiet = make_user("quiet", notify_replies=False)
        fan = make_user("fan")
        post_id = db.session.scalar(select(Post.id).where(Post.slug == people["mine"]))
        db.session.add(Subscription(user_id=fan.id, post_id=post_id))
        db.session.commit()
        ana_id, quiet_id = ana.id, quiet.id
    to_ana = add(app, people["mine"], "Ana's point", user=ana_id)
    to_quiet = add(app, people["mine"], "Quiet point", user=quiet_id)
    client = signed_in(app, "mia")
    with record_mail(app) as outbox:
        post_form(
            client,
            f"/posts/{people['mine']}/comments",
            {"body": "Replying to Ana", "parent_id": str(to_ana)},
        )
    recipients = sorted(m.recipients[0] for m in outbox)
    assert recipients == ["ana@example.org", "fan@example.org", "writer@example.org"]
    for message in outbox:
        assert "List-Unsubscribe" in message.extra_headers
        assert "/comments/unsubscribe/" in message.body
    with record_mail(app) as outbox:
        post_form(
            client,
            f"/posts/{people['mine']}/comments",
            {"body": "Replying to quiet", "parent_id": str(to_quiet)},
        )
    assert "quiet@example.org" not in [m.recipients[0] for m in outbox]


def test_held_comment_notifies_followers_only_when_approved(app, people):
    with app.app_context():
        fan = make_user("fan")
        post_id = db.session.scalar(select(Post.id).where(Post.slug == people["mine"]))
        db.session.add(Subscription(user_id=fan.id, post_id=post_id))
        db.session.commit()
    with record_mail(app) as outbox:
        guest_comment(app.test_client(), people["mine"], "First-timer")
    assert [m.recipients[0] for m in outbox] == ["writer@example.org"]
    cid = None
    with app.app_context():
        cid = db.session.scalar(select(Comment.id).where(Comment.body_md == "First-timer"))
    with record_mail(app) as outbox:
        post_form(
            signed_in(app, "boss"), "/admin/comments", {"ids": [str(cid)], "action": "approve"}
        )
    assert [m.recipients[0] for m in outbox] == ["fan@example.org"]


def test_follower_unsubscribe_from_email(app, people):
    with app.app_context():
        fan = make_user("fan")
        post_id = db.session.scalar(select(Post.id).where(Post.slug == people["mine"]))
        db.session.add(Subscription(user_id=fan.id, post_id=post_id))
        db.session.commit()
    with record_mail(app) as outbox:
        post_form(signed_in(app, "mia"), f"/posts/{people['mine']}/comments", {"body": "hi"})
    to_fan = next(m for m in outbox if m.recipients == ["fan@example.org"])
    path = to_fan.extra_headers["List-Unsubscribe"].strip("<>").split("localhost", 1)[1]
    app.test_client().post(path)
    with app.app_context():
        assert db.session.scalar(select(Subscription.id)) is None


# ------------------------------------------------------------------ privacy


@pytest.mark.parametrize(
    "given, stored",
    [
        ("203.0.113.57", "203.0.113.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("not an ip", ""),
        (None, ""),
    ],
)
def test_ip_truncation(given, stored):
    assert truncate_ip(given) == stored


def test_comment_stores_truncated_ip(app, people):
    client = app.test_client()
    data = {
        "name": "Ana",
        "email": "ana@example.org",
        "body": "From afar",
        "csrf_token": csrf_token(client),
    }
    client.post(
        f"/posts/{people['mine']}/comments", data=data, environ_base={"REMOTE_ADDR": "192.0.2.200"}
    )
    with app.app_context():
        assert db.session.scalar(select(Comment.ip)) == "192.0.2.0"


def test_purge_comments_command(app, people, runner):
    old = utcnow() - timedelta(days=31)
    add(app, people["mine"], "Old held", status=CommentStatus.PENDING, created_at=old)
    add(app, people["mine"], "Old spam", status=CommentStatus.SPAM, created_at=old)
    add(app, people["mine"], "New held", status=CommentStatus.PENDING)
    add(app, people["mine"], "Old approved", created_at=old)
    result = runner.invoke(args=["purge-comments"])
    assert result.exit_code == 0 and "Removed 2" in result.output
    assert status_of(app, body="Old held") is None and status_of(app, body="Old spam") is None
    assert status_of(app, body="New held") == CommentStatus.PENDING
    assert status_of(app, body="Old approved") == CommentStatus.APPROVED


# ------------------------------------------------------------------ one click per row


def row_action(client, value, path="/admin/comments"):
    return client.post(path, data={"csrf_token": csrf_token(client, path), "row": value})


def test_each_row_has_its_own_buttons_post_link_history_and_held_reason(app, people):
    add(app, people["mine"], "Earlier approved", guest_email="x@example.org")
    add(app, people["mine"], "Earlier spam", status=CommentStatus.SPAM, guest_email="x@example.org")
    held = add(
        app,
        people["mine"],
        "Held one",
        status=CommentStatus.PENDING,
        guest_email="x@example.org",
        held_reason="A first comment is reviewed by a moderator before it appears.",
    )
    page = signed_in(app, "writer").get("/admin/comments").text
    row = re.search(rf'<tr id="queue-comment-{held}">(.*?)</tr>', page, re.S).group(1)
    for label in ("Approve", "Spam", "Delete", "Approve and reply"):
        assert re.search(
            rf'<button type="submit" name="row" value="[a-z]+:{held}"[^>]*>{label}<', row
        ), label
    assert "<strong>Held:</strong> A first comment is reviewed" in row
    assert "2 earlier comments, 1 approved" in row
    assert "Writer&#39;s post" in row or "Writer's post" in row
    assert f'href="/posts/{people["mine"]}#comments"' in row  # where it will show
    approved = add(app, people["mine"], "Shown one")
    page = signed_in(app, "writer").get("/admin/comments?status=approved").text
    row = re.search(rf'<tr id="queue-comment-{approved}">(.*?)</tr>', page, re.S).group(1)
    assert f'href="/comments/{approved}"' in row and "View in thread" in row  # its permalink


@pytest.mark.parametrize("action, status", [("approve", "approved"), ("spam", "spam")])
def test_a_row_button_acts_on_that_comment_alone(app, people, action, status):
    one = add(app, people["mine"], "First", status=CommentStatus.PENDING)
    two = add(app, people["mine"], "Second", status=CommentStatus.PENDING)
    client = signed_in(app, "writer")
    response = client.post(
        "/admin/comments",
        data={
            "csrf_token": csrf_token(client, "/admin/comments"),
            "row": f"{action}:{one}",
            "ids": [str(two)],  # ticked, but the row's own button names only its comment
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#queue")
    assert status_of(app, one) == status
    assert status_of(app, two) == "pending"
    assert "The comment by Ana was" in client.get(response.headers["Location"]).text


def test_row_delete_and_approve_and_reply(app, people):
    gone = add(app, people["mine"], "Delete me", status=CommentStatus.PENDING)
    client = signed_in(app, "writer")
    assert row_action(client, f"delete:{gone}").status_code == 302
    assert status_of(app, gone) is None
    held = add(app, people["mine"], "Answer me", status=CommentStatus.PENDING)
    response = row_action(client, f"reply:{held}")
    assert response.headers["Location"] == f"/comments/{held}/reply"
    assert status_of(app, held) == "approved"  # a reply shows under a shown comment
    assert "Reply to Ana" in client.get(response.headers["Location"]).text


@pytest.mark.parametrize(
    "value", ["approve", "approve:", "approve:x", "burn:1", "reply:-1", "a" * 5000]
)
def test_a_bad_row_value_is_a_400(app, people, value):
    assert row_action(signed_in(app, "writer"), value).status_code == 400


def test_row_buttons_need_csrf_and_the_right_to_moderate(app, people):
    theirs = add(app, people["theirs"], "Not yours", status=CommentStatus.PENDING)
    writer = signed_in(app, "writer")
    assert writer.post("/admin/comments", data={"row": f"approve:{theirs}"}).status_code == 400
    for action in ("approve", "spam", "delete", "reply"):
        response = row_action(writer, f"{action}:{theirs}")
        assert response.status_code == 302
        assert "/reply" not in response.headers["Location"]
    assert status_of(app, theirs) == "pending"
