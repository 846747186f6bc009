"""The newsletter through HTTP: subscribing, confirming, choosing, unsubscribing, admins.

Mail is delivered in-process here (a worker pass); tests/test_mail_worker.py runs real
worker processes against a real SMTP server.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from blogapp.extensions import db, mail
from blogapp.models import OutboxMessage, Role, Subscriber, utcnow
from blogapp.posts import authoring_services
from tests.builders import make_category, make_user
from tests.helpers import AuthActions, csrf_token, deliver_mail, post_form, record_mail
from tests.member_roles import own_app

CONFIRM = re.compile(r"http://localhost(/subscribe/confirm/[\w.\-]+)")
UNSUBSCRIBE = re.compile(r"http://localhost(/unsubscribe/[\w.\-]+)")


def publish(title: str, category_id=None, when=None, author=None):
    """A post published (or scheduled for `when`) the way the editor does it."""
    author = author or make_user(role=Role.AUTHOR)
    draft = authoring_services.Draft(
        title=title, body=f"The text of {title}.", category_id=category_id
    )
    action = "schedule" if when else "publish"
    return authoring_services.save(None, draft, author, action, when)


def delivered(app) -> list:
    """What one worker pass sends now (newsletters that are due included)."""
    with mail.record_messages() as sent:
        deliver_mail(app)
    return sent


def subscribe(client, email="reader@example.org", **fields):
    data = {"email": email, "frequency": "post", **fields}
    return post_form(client, "/subscribe", data)


def confirmed_subscriber(app, client, email="reader@example.org", **fields) -> str:
    """Subscribe and follow the emailed link; returns the confirm link's path."""
    with record_mail(app) as sent:
        subscribe(client, email, **fields)
    path = CONFIRM.search(sent[-1].body).group(1)
    post_form(client, path, {"csrf_token": csrf_token(client, path)})
    return path


def subscriber(app, email="reader@example.org") -> Subscriber | None:
    with app.app_context():
        found = db.session.scalar(select(Subscriber).where(Subscriber.email_key == email))
        if found is not None:
            db.session.expunge(found)
        return found


def test_home_page_and_every_post_carry_the_subscribe_form(app, client):
    with app.app_context():
        post = publish("Night shift tips")
        slug = post.slug
    for path in ("/", f"/posts/{slug}"):
        page = client.get(path).text
        assert 'action="/subscribe"' in page
        assert '<label for="subscribe-email">Email for new posts</label>' in page
        assert ">Subscribe</button>" in page


def test_the_form_keeps_cached_pages_the_same_bytes_for_every_visitor(database_url):
    """No per-visitor token in the box: the home page stays one shared answer, 304s work."""
    with own_app(database_url, PAGE_CACHE_ENABLED=True) as app:
        with app.app_context():
            publish("Night shift tips")
        first, second = app.test_client(), app.test_client(use_cookies=False)
        pages = [c.get("/") for c in (first, second, first, second)]
        assert len({p.get_data() for p in pages}) == 1
        assert "csrf_token" not in pages[0].text
        assert all("Set-Cookie" not in p.headers for p in pages)
        etag = pages[3].headers["ETag"]
        assert second.get("/", headers={"If-None-Match": etag}).status_code == 304
        # The form posts from a cached page, with no session at all.
        response = second.post("/subscribe", data={"email": "a@example.org"})
        assert response.status_code == 302


def test_subscribing_mails_a_link_whose_get_shows_a_button_and_only_the_post_confirms(app, client):
    with record_mail(app) as sent:
        response = subscribe(client)
    assert response.status_code == 302
    assert "a message is on its way" in client.get(response.headers["Location"]).text
    assert [m.recipients for m in sent] == [["reader@example.org"]]
    path = CONFIRM.search(sent[0].body).group(1)
    assert path in sent[0].html
    scanner = app.test_client()  # a mail scanner fetching the link
    page = scanner.get(path)
    assert page.status_code == 200 and ">Confirm subscription</button>" in page.text
    assert subscriber(app).status == "pending"
    response = post_form(scanner, path, {"csrf_token": csrf_token(scanner, path)})
    assert response.status_code == 200 and "will get every new post" in response.text
    assert subscriber(app).status == "confirmed"


def test_the_answer_is_the_same_for_new_waiting_and_subscribed_addresses(app, client):
    confirmed_subscriber(app, client, "known@example.org")
    answers = []
    for email in ("new@example.org", "known@example.org", "new@example.org"):
        response = subscribe(app.test_client(), email)
        answers.append((response.status_code, response.headers["Location"]))
    assert len(set(answers)) == 1


def test_at_most_one_mail_per_address_per_hour(app, client):
    with record_mail(app) as sent:
        for _ in range(3):
            subscribe(client, "new@example.org")
            subscribe(client, "Known@Example.org")
    assert sorted(m.recipients[0] for m in sent) == ["Known@example.org", "new@example.org"]
    with app.app_context():
        row = db.session.scalar(select(Subscriber).where(Subscriber.email_key == "new@example.org"))
        row.confirmation_sent_at = utcnow() - timedelta(minutes=61)
        db.session.commit()
    with record_mail(app) as sent:
        subscribe(client, "new@example.org")
    assert len(sent) == 1  # an hour later, a fresh link


def test_already_subscribed_gets_a_note_not_a_new_link_and_keeps_their_choices(app, client):
    confirmed_subscriber(app, client, frequency="weekly")
    with app.app_context():
        row = db.session.scalar(select(Subscriber))
        row.confirmation_sent_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    with record_mail(app) as sent:
        subscribe(client, frequency="post")  # someone else typing their address
    assert sent[0].subject.startswith("You are already subscribed")
    assert not CONFIRM.search(sent[0].body)
    assert subscriber(app).frequency == "weekly"


@pytest.mark.parametrize(
    "email", ["", "not an address", "a@b", "x" * 300 + "@example.org", "a\r\nBcc: x@evil.example"]
)
def test_a_malformed_address_gets_a_message_and_keeps_the_form(app, client, email):
    response = subscribe(client, email, frequency="weekly")
    assert response.status_code == 400
    assert 'class="error"' in response.text
    assert re.search(r'<input checked[^>]*value="weekly"', response.text)  # choice kept
    if email == "not an address":
        assert 'value="not an address"' in response.text  # what they typed, kept
    with app.app_context():
        assert db.session.scalar(select(func.count(Subscriber.id))) == 0


def test_a_subscribe_from_another_site_only_asks_the_address_to_confirm(app):
    """No CSRF token on /subscribe (it acts on no one's session): a forged POST can do no
    more than a stranger typing the address: one confirmation mail, nothing subscribed."""
    forged = app.test_client(use_cookies=False)
    with record_mail(app) as sent:
        for _ in range(3):
            forged.post("/subscribe", data={"email": "victim@example.org", "frequency": "post"})
    assert len(sent) == 1
    assert subscriber(app, "victim@example.org").status == "pending"


def test_subscribing_is_rate_limited(database_url):
    with own_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_SUBSCRIBE="2 per minute") as app:
        client = app.test_client()
        statuses = [subscribe(client, f"r{n}@example.org").status_code for n in range(3)]
        assert statuses == [302, 302, 429]


def test_a_confirmed_subscriber_gets_each_new_post_once(app, client):
    confirmed_subscriber(app, client)
    with app.app_context():
        post = publish("Staffing update", make_category("News").id)
        title = post.title
    sent = delivered(app) + delivered(app)
    assert [(m.recipients, m.subject) for m in sent] == [(["reader@example.org"], title)]
    message = sent[0]
    link = UNSUBSCRIBE.search(message.body).group(0)
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{link}"' in message.html  # a visible link too
    assert "http://localhost/posts/staffing-update" in message.body
    assert "<img" not in message.html  # no tracking pixel
    hrefs = set(re.findall(r'href="([^"]+)"', message.html))
    assert hrefs == {"http://localhost/posts/staffing-update", link}  # no redirected links


def test_unsubscribe_get_changes_nothing_and_the_one_click_post_needs_no_session(app, client):
    confirmed_subscriber(app, client)
    with app.app_context():
        publish("First post")
    sent = delivered(app)
    path = UNSUBSCRIBE.search(sent[0].body).group(1)
    mail_client = app.test_client()
    page = mail_client.get(path)
    assert page.status_code == 200 and ">Unsubscribe</button>" in page.text
    assert subscriber(app).status == "confirmed"
    # RFC 8058: the mail provider POSTs this body, with no cookie and no CSRF token.
    response = mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "gets no more newsletters" in response.text
    assert subscriber(app).status == "unsubscribed"
    with app.app_context():
        publish("Second post")
    sent = delivered(app)
    assert sent == []
    assert app.test_client().get(path).status_code == 404  # the old link died with the key


def test_forged_links_are_refused_without_asking_to_sign_in(app, client):
    path = confirmed_subscriber(app, client)
    for bad in (path[:-3] + "abc", "/unsubscribe/nonsense", "/subscribe/confirm/x.y.z"):
        response = client.get(bad)
        assert response.status_code in (400, 404)
        assert "Sign in" not in response.text.split("<main", 1)[-1].split("</main>")[0]


def test_some_categories_only_gets_posts_in_them(app, client):
    with app.app_context():
        news_id, advice_id = make_category("News").id, make_category("Advice").id
    confirmed_subscriber(app, client, categories=str(advice_id))
    with app.app_context():
        publish("A news item", news_id)
        publish("Some advice", advice_id)
    sent = delivered(app)
    assert [m.subject for m in sent] == ["Some advice"]


def test_a_rolled_back_change_sends_nothing(app):
    from blogapp.email import queue_email

    with app.app_context():
        queue_email("someone@example.org", "Never", "This change was rolled back.")
        db.session.rollback()
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_control_characters_never_reach_a_header(app, client):
    confirmed_subscriber(app, client)
    with app.app_context():
        publish("Title\r\nBcc: everyone@example.org")
    sent = delivered(app)
    assert "\n" not in sent[0].subject and "\r" not in sent[0].subject
    assert sent[0].bcc == [] and "everyone@" not in str(sent[0].recipients)


def test_members_manage_their_subscription_from_their_account(app, client):
    with app.app_context():
        make_user("nurse", email="nurse@example.org")
        category_id = make_category("Advice").id
    AuthActions(client).login("nurse")
    page = client.get("/account/newsletter")
    assert page.status_code == 200 and "gets no newsletter" in page.text
    response = post_form(
        client,
        "/account/newsletter",
        {
            "frequency": "weekly",
            "categories": str(category_id),
            "action": "save",
            "csrf_token": csrf_token(client, "/account/newsletter"),
        },
    )
    assert response.status_code == 302
    found = subscriber(app, "nurse@example.org")
    assert (found.status, found.frequency) == ("confirmed", "weekly")  # confirmed member
    assert "a weekly digest in Advice" in client.get("/account/newsletter").text
    post_form(
        client,
        "/account/newsletter",
        {
            "action": "unsubscribe",
            "frequency": "weekly",
            "csrf_token": csrf_token(client, "/account/newsletter"),
        },
    )
    assert subscriber(app, "nurse@example.org").status == "unsubscribed"


def test_an_unconfirmed_member_confirms_by_mail_first(app, client):
    with app.app_context():
        make_user("newbie", email="newbie@example.org", confirmed=False)
    AuthActions(client).login("newbie")
    with record_mail(app) as sent:
        post_form(
            client,
            "/account/newsletter",
            {
                "frequency": "post",
                "action": "save",
                "csrf_token": csrf_token(client, "/account/newsletter"),
            },
        )
    assert subscriber(app, "newbie@example.org").status == "pending"
    assert CONFIRM.search(sent[0].body)


# --- admins ----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(app):
    with app.app_context():
        make_user("boss", role=Role.ADMIN, email="boss@example.org")
    client = app.test_client()
    AuthActions(client).login("boss")
    return client


def test_admin_sees_counts_search_and_each_newsletters_delivery(app, client, admin_client):
    confirmed_subscriber(app, client, "one@example.org")
    confirmed_subscriber(app, client, "two@example.org", frequency="weekly")
    subscribe(client, "=1+2@example.org")
    subscribe(client, "waiting@example.org")
    with app.app_context():
        publish("Staffing update")
    deliver_mail(app)
    page = admin_client.get("/admin/subscribers").text
    assert "2 (1 every post, 1 weekly)" in page
    assert "Staffing update" in page and "sent 1 of 1" in page
    found = admin_client.get("/admin/subscribers?q=waiting").text
    assert "waiting@example.org" in found and "one@example.org" not in found
    csv = admin_client.get("/admin/subscribers.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "email,status,frequency,categories,subscribed,confirmed"
    assert len(lines) == 5
    assert any(line.startswith("'=1+2@") for line in lines)  # no formula for Excel


def test_send_me_a_test_mails_the_admin(app, admin_client):
    with app.app_context():
        publish("Staffing update")
    with record_mail(app) as sent:
        response = post_form(
            admin_client,
            "/admin/subscribers/test",
            {"csrf_token": csrf_token(admin_client, "/admin/subscribers")},
        )
    assert response.status_code == 302
    assert [(m.recipients, m.subject) for m in sent] == [
        (["boss@example.org"], "[Test] Staffing update")
    ]


def test_full_text_setting_puts_the_whole_post_in_the_mail(app, client, admin_client):
    confirmed_subscriber(app, client)
    post_form(
        admin_client,
        "/admin/subscribers/settings",
        {"full_text": "1", "csrf_token": csrf_token(admin_client, "/admin/subscribers")},
    )
    with app.app_context():
        publish("Long read")
    sent = delivered(app)
    assert "The text of Long read." in sent[0].body


def test_failed_mail_is_shown_to_admins_and_can_be_retried(app, admin_client):
    from blogapp.email import queue_email

    with app.app_context():
        queue_email("someone@example.org", "Hello", "Body")
        db.session.commit()
        row = db.session.scalar(select(OutboxMessage))
        row.status, row.attempts, row.last_error = "failed", 8, "550 mailbox unavailable"
        db.session.commit()
        row_id = row.id
    page = admin_client.get("/admin/mail").text
    assert "someone@example.org" in page and "550 mailbox unavailable" in page
    with record_mail(app) as sent:
        response = post_form(
            admin_client,
            "/admin/mail/retry",
            {"id": str(row_id), "csrf_token": csrf_token(admin_client, "/admin/mail")},
        )
    assert response.status_code == 302
    assert [m.recipients for m in sent] == [["someone@example.org"]]
    for bad in ("", "abc", "²", "9" * 40):
        response = post_form(
            admin_client,
            "/admin/mail/retry",
            {"id": bad, "csrf_token": csrf_token(admin_client, "/admin/mail")},
        )
        assert response.status_code == 400


def test_a_message_that_cannot_be_built_fails_alone(database_url):
    from blogapp.email import queue_email

    with own_app(database_url, MAIL_MAX_ATTEMPTS=1) as app:
        with app.app_context():
            broken = queue_email("broken@example.org", "Broken", "Body")
            queue_email("fine@example.org", "Hello", "Body")
            broken.headers_json = "{not json"  # say, a row damaged by hand
            db.session.commit()
        sent = delivered(app)
        assert [m.recipients for m in sent] == [["fine@example.org"]]
        with app.app_context():
            statuses = dict(
                db.session.execute(select(OutboxMessage.to_address, OutboxMessage.status)).all()
            )
        assert statuses == {"broken@example.org": "failed", "fine@example.org": "sent"}
