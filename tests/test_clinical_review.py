"""Clinical publishing over HTTP: review sign-off, revisions, what readers see, the cycle."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Category, Post, PostRevision, ReviewStatus, utcnow
from blogapp.posts.review import add_months
from tests import helpers
from tests.builders import make_category, make_user
from tests.helpers import CSRF_INPUT

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


class People:
    """One signed-in client per person, each with its own session, like separate browsers."""

    def __init__(self, app):
        self.app = app
        self.clients = {}
        with app.app_context():
            self.advice = make_category("Advice")
            self.advice.needs_review = True
            self.news = make_category("News")
            db.session.commit()
            self.advice_id, self.news_id = self.advice.id, self.news.id
            users = {
                "author": make_user("ana", role="author", display_name="Ana Author"),
                "other": make_user("oto", role="author"),
                "editor": make_user("eda", role="editor"),
                "admin": make_user("adm", role="admin"),
                "reviewer": make_user(
                    "rae", display_name="Rae Reviewer", reviewer_credentials="RN, MSN"
                ),
                "reviewer2": make_user("rob", reviewer_credentials="MD"),
                "member": make_user("mem"),
            }
            self.ids = {name: user.id for name, user in users.items()}

    def __getitem__(self, who: str):
        if who not in self.clients:
            client = self.app.test_client()
            if who != "reader":
                helpers.sign_in_fast(client, self.app, self.ids[who])
            self.clients[who] = client
        return self.clients[who]

    def post(self, who: str, url: str, **data):
        client = self[who]
        match = CSRF_INPUT.search(client.get("/").text)
        data.setdefault("csrf_token", match.group(1) if match else "")
        return client.post(url, data=data, content_type="multipart/form-data")

    def write(self, who="author", slug=None, **fields):
        data = {
            "kind": "post",
            "title": "Hydration on night shifts",
            "body": "Drink water.\n\nEvery two hours.",
            "category": str(self.advice_id),
            "tags": "",
        }
        data.update(fields)
        return self.post(who, f"/posts/{slug}/edit" if slug else "/posts/new", **data)

    def decide(self, post_id: int, who="reviewer", **data):
        page = self[who].get(f"/reviews/{post_id}").text
        number = re.search(r'name="revision" type="hidden" value="(\d+)"', page)
        number = re.search(r'name="revision"[^>]*value="(\d+)"', page) if not number else number
        data.setdefault("revision", number.group(1) if number else "1")
        return self.post(who, f"/reviews/{post_id}", **data)


@pytest.fixture
def people(app):
    return People(app)


def post_row(app, slug="hydration-on-night-shifts") -> Post:
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        db.session.expunge_all()
        return post


def test_publishing_an_unreviewed_advice_post_is_refused_with_403_and_a_reason(app, people):
    response = people.write(publish="Publish")
    assert response.status_code == 403
    assert "need a clinical reviewer&#39;s approval" in response.text
    assert "Drink water." in response.text  # what they typed is still in the form
    assert post_row(app) is None
    assert people.write(save_draft="Save draft").status_code == 302
    for button in ({"publish": "Publish"}, {"schedule": "Schedule"}):
        fields = {"publish_at": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")}
        refused = people.write(slug="hydration-on-night-shifts", **fields, **button)
        assert refused.status_code == 403
    assert post_row(app).status == "draft"
    assert people["reader"].get("/posts/hydration-on-night-shifts").status_code == 404
    # Submitted but not yet approved: still refused, with the reason.
    people.write(slug="hydration-on-night-shifts", submit_review="Submit for review")
    refused = people.write(slug="hydration-on-night-shifts", publish="Publish")
    assert refused.status_code == 403 and "waiting for a clinical reviewer" in refused.text


def test_a_post_outside_reviewed_categories_publishes_at_once(app, people):
    response = people.write(category=str(people.news_id), publish="Publish")
    assert response.status_code == 302
    assert people["reader"].get("/posts/hydration-on-night-shifts").status_code == 200


def test_the_review_workflow_from_draft_to_published_and_an_edit_that_waits(app, people):
    slug = "hydration-on-night-shifts"
    assert people.write(submit_review="Submit for review").status_code == 302
    post = post_row(app)
    assert post.review_status == ReviewStatus.IN_REVIEW and post.status == "draft"

    # The queue: reviewers who didn't write it; not the author, not a plain member.
    assert "Hydration on night shifts" in people["reviewer"].get("/reviews").text
    assert people["member"].get("/reviews").status_code == 403
    assert people["author"].get("/reviews").status_code == 403
    exact = people["reviewer"].get(f"/reviews/{post.id}").text
    assert "Every two hours." in exact and 'value="Approve"' in exact

    # Request changes: a note is required, and the author sees it.
    assert people.decide(post.id, request_changes="Request changes", note="").status_code == 400
    asked = people.decide(post.id, request_changes="Request changes", note="Say how much water.")
    assert asked.status_code == 302
    form = people["author"].get(f"/posts/{slug}/edit").text
    assert "Say how much water." in form and "Changes requested" in form
    assert people.write(slug=slug, publish="Publish").status_code == 403

    # The author edits and resubmits; an old revision number can't be approved.
    people.write(slug=slug, body="Drink 250 ml of water.\n\nEvery two hours.",
                 submit_review="Submit for review")  # fmt: skip
    stale = people.post("reviewer", f"/reviews/{post.id}", revision="1", approve="Approve")
    assert stale.status_code == 409
    # A revision number that isn't one (Unicode digits, huge, empty) is the form again, not a 500.
    for odd in ("²", "١", "9" * 30, "", "-1", "1.5"):
        refused = people.post("reviewer", f"/reviews/{post.id}", revision=odd, approve="Approve")
        assert refused.status_code == 400, odd
    assert people.decide(post.id, approve="Approve").status_code == 302
    assert post_row(app).review_status == ReviewStatus.APPROVED

    # The author publishes; readers see the reviewed line linked to the reviewer's page.
    assert people.write(slug=slug, body="Drink 250 ml of water.\n\nEvery two hours.",
                        publish="Publish").status_code == 302  # fmt: skip
    page = people["reader"].get(f"/posts/{slug}").text
    assert "250 ml" in page
    assert re.search(
        r'Medically reviewed by\s*<a href="/author/rae">Rae Reviewer, RN, MSN</a>', page
    )
    assert "Updated" not in page

    # An edit of the live, reviewed post waits; readers keep the approved text.
    new_body = "Drink 300 ml of water.\n\nEvery two hours."
    saved = people.write(slug=slug, body=new_body, change_note="More water, per new guidance",
                         note_public="y", save_draft="Save changes")  # fmt: skip
    assert saved.status_code == 302
    page = people["reader"].get(f"/posts/{slug}").text
    assert "250 ml" in page and "300 ml" not in page
    assert "300 ml" in people["author"].get(f"/posts/{slug}/edit").text
    assert people.write(slug=slug, body=new_body, publish="Publish").status_code == 403
    assert "250 ml" in people["reader"].get(f"/posts/{slug}").text
    people.write(slug=slug, body=new_body, submit_review="Submit for review")
    assert "250 ml" in people["reader"].get(f"/posts/{slug}").text
    assert people.decide(post.id, who="reviewer2", approve="Approve").status_code == 302
    assert "250 ml" in people["reader"].get(f"/posts/{slug}").text  # approved, not yet out
    assert people.write(slug=slug, body=new_body, publish="Publish").status_code == 302
    page = people["reader"].get(f"/posts/{slug}").text
    assert "300 ml" in page and "250 ml" not in page
    assert "Medically reviewed by" in page and "rob, MD" in page
    assert "Updated <time" in page
    assert "What changed" in page and "More water, per new guidance" in page


def test_the_approval_is_kept_against_the_exact_revision(app, people):
    people.write(submit_review="Submit for review")
    post = post_row(app)
    people.decide(post.id, approve="Approve")
    with app.app_context():
        from blogapp.models import ReviewDecision

        decision = db.session.scalar(select(ReviewDecision))
        revision = db.session.get(PostRevision, decision.revision_id)
        assert (revision.post_id, revision.number) == (post.id, 1)
        assert decision.reviewer_id == people.ids["reviewer"]
        assert decision.credentials == "RN, MSN" and decision.decision == "approved"
        assert decision.created_at <= utcnow()


def test_nobody_reviews_their_own_post(app, people):
    with app.app_context():
        from blogapp.models import User

        db.session.get(User, people.ids["author"]).reviewer_credentials = "RN"
        db.session.commit()
    people.write(submit_review="Submit for review")
    post = post_row(app)
    assert "Hydration" not in people["author"].get("/reviews").text
    refused = people.decide(post.id, who="author", approve="Approve")
    assert refused.status_code == 403
    assert post_row(app).review_status == ReviewStatus.IN_REVIEW


def test_every_save_is_a_revision_and_history_shows_a_side_by_side_diff(app, people):
    slug = "hydration-on-night-shifts"
    people.write(category=str(people.news_id), save_draft="Save draft")
    people.write(slug=slug, category=str(people.news_id), body="Drink tea.\n\nEvery two hours.",
                 change_note="Tea is water too", save_draft="Save draft")  # fmt: skip
    people.write(slug=slug, category=str(people.news_id), body="Drink tea.\n\nEvery two hours.",
                 save_draft="Save draft")  # no change: no new revision  # fmt: skip
    history = people["author"].get(f"/posts/{slug}/history")
    assert history.status_code == 200
    text = history.text
    assert "Revision 1 compared with revision 2" in text
    assert '<del><span class="visually-hidden">Removed: </span>Drink water.</del>' in text
    assert '<ins><span class="visually-hidden">Added: </span>Drink tea.</ins>' in text
    assert "Tea is water too" in text and "<script" not in text.split("<main")[1]
    assert text.count("<tr>") >= 2
    chosen = people["author"].get(f"/posts/{slug}/history?a=2&b=1").text
    assert "Revision 2 compared with revision 1" in chosen
    assert people["author"].get(f"/posts/{slug}/history?a=99&b=x").status_code == 200

    restored = people.post("author", f"/posts/{slug}/history/1/restore")
    assert restored.status_code == 302
    with app.app_context():
        numbers = db.session.scalars(select(PostRevision.number).order_by(PostRevision.number))
        assert list(numbers) == [1, 2, 3]
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        assert "Drink water." in post.body_md
    assert "Restored 1" in people["author"].get(f"/posts/{slug}/history").text
    assert people.post("author", f"/posts/{slug}/history/42/restore").status_code == 404
    # Other authors and plain members can't see or restore it; reviewers can read it.
    assert people["other"].get(f"/posts/{slug}/history").status_code == 403
    assert people["member"].get(f"/posts/{slug}/history").status_code == 403
    assert people["reviewer"].get(f"/posts/{slug}/history").status_code == 200
    assert people.post("reviewer", f"/posts/{slug}/history/1/restore").status_code == 403
    assert people.post("other", f"/posts/{slug}/history/1/restore").status_code == 403


def publish_reviewed(people, app, body="Drink water.\n\nEvery two hours.", slug=None):
    people.write(slug=slug, body=body, submit_review="Submit for review")
    post = post_row(app)
    people.decide(post.id, approve="Approve")
    assert people.write(slug=post.slug, body=body, publish="Publish").status_code == 302
    return post


def test_restoring_on_a_live_reviewed_post_waits_for_review(app, people):
    post = publish_reviewed(people, app)
    people.write(slug=post.slug, body="Drink juice.", save_draft="Save changes")
    people.post("author", f"/posts/{post.slug}/history/1/restore")
    assert "Drink water." in people["reader"].get(f"/posts/{post.slug}").text
    assert post_row(app).review_status == ReviewStatus.DRAFT


def test_an_editor_may_publish_a_non_clinical_fix_with_a_change_note(app, people):
    post = publish_reviewed(people, app)
    fixed = "Drink water.\n\nEvery two hours, please."
    # The form offers the fix only to editors; the server refuses it to authors anyway.
    assert "Non-clinical fix" not in people["author"].get(f"/posts/{post.slug}/edit").text
    assert "Non-clinical fix" in people["editor"].get(f"/posts/{post.slug}/edit").text
    refused = people.write(who="author", slug=post.slug, body=fixed, fix="y",
                           change_note="typo", publish="Publish")  # fmt: skip
    assert refused.status_code == 403 and "Only editors" in refused.text
    no_note = people.write(who="editor", slug=post.slug, body=fixed, fix="y", publish="Publish")
    assert no_note.status_code == 403 and "change note" in no_note.text
    done = people.write(who="editor", slug=post.slug, body=fixed, fix="y",
                        change_note="Typo: please", publish="Publish")  # fmt: skip
    assert done.status_code == 302
    page = people["reader"].get(f"/posts/{post.slug}").text
    assert "please." in page and "Medically reviewed by" in page
    assert post_row(app).review_status == ReviewStatus.FIX
    assert "Non-clinical fix</span>" in people["editor"].get(f"/posts/{post.slug}/history").text


def test_a_fix_is_not_a_way_round_review_for_a_post_never_approved(app, people):
    people.write(save_draft="Save draft")
    refused = people.write(who="editor", slug="hydration-on-night-shifts", fix="y",
                           change_note="typo", publish="Publish")  # fmt: skip
    assert refused.status_code == 403


def test_editors_edit_anyones_posts_and_moderate_every_comment(app, people):
    people.write(category=str(people.news_id), publish="Publish")
    slug = "hydration-on-night-shifts"
    assert people["editor"].get(f"/posts/{slug}/edit").status_code == 200
    assert people["other"].get(f"/posts/{slug}/edit").status_code == 403
    assert "Hydration on night shifts" in people["editor"].get("/dashboard").text
    assert "Hydration on night shifts" not in people["other"].get("/dashboard").text
    with app.app_context():
        from tests.builders import make_comment

        post = db.session.scalar(select(Post).where(Post.slug == slug))
        comment = make_comment(post, "Held words", status="pending")
        comment_id = comment.id
    assert "Held words" in people["editor"].get("/admin/comments").text
    assert "Held words" not in people["other"].get("/admin/comments").text
    people.post("editor", "/admin/comments", action="approve", ids=str(comment_id))
    assert "Held words" in people["reader"].get(f"/posts/{slug}").text
    # Editors are below admins: no users, categories or audit log.
    for path in ("/admin/users", "/admin/categories", "/admin/audit"):
        assert people["editor"].get(path).status_code == 403


def test_json_ld_says_when_it_changed_who_reviewed_it_and_when(app, people):
    post = publish_reviewed(people, app)
    data = json.loads(JSON_LD.findall(people["reader"].get(f"/posts/{post.slug}").text)[0])
    page = data["mainEntityOfPage"]
    assert page["reviewedBy"]["@type"] == "Person"
    assert page["reviewedBy"]["name"] == "Rae Reviewer"
    assert page["reviewedBy"]["honorificSuffix"] == "RN, MSN"
    assert page["reviewedBy"]["url"] == "http://localhost/author/rae"
    assert page["lastReviewed"] == utcnow().date().isoformat()
    assert data["dateModified"] >= data["datePublished"]


def test_approval_sets_the_next_review_date_from_the_category(app, people):
    with app.app_context():
        db.session.get(Category, people.advice_id).review_months = 6
        db.session.commit()
    publish_reviewed(people, app)
    assert post_row(app).next_review_on == add_months(utcnow().date(), 6)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_due_and_overdue_reviews_show_to_staff_and_a_calm_note_to_readers(app, people):
    post = publish_reviewed(people, app)
    with app.app_context():
        db.session.get(Post, post.id).next_review_on = utcnow().date() - timedelta(days=3)
        db.session.commit()
    dashboard = people["author"].get("/dashboard").text
    assert "Due for review" in dashboard and "overdue" in dashboard
    assert "overdue" in people["reviewer"].get("/reviews").text
    assert "due for its regular clinical review" in people["reader"].get(f"/posts/{post.slug}").text
    # An admin can turn the readers' note off (an audited setting).
    assert people.post("admin", "/admin/categories/overdue-note", enabled="0").status_code == 302
    assert "due for its regular" not in people["reader"].get(f"/posts/{post.slug}").text
    assert "Show the overdue note" in people["admin"].get("/admin/categories").text
    assert people.post("author", "/admin/categories/overdue-note", enabled="1").status_code == 403


def test_admins_set_category_review_rules_and_designate_reviewers(app, people):
    saved = people.post("admin", f"/admin/categories/{people.news_id}/review",
                        **{f"r{people.news_id}-needs_review": "y",
                           f"r{people.news_id}-review_months": "24"})  # fmt: skip
    assert saved.status_code == 302
    with app.app_context():
        news = db.session.get(Category, people.news_id)
        assert news.needs_review and news.review_months == 24
    bad = people.post("admin", f"/admin/categories/{people.news_id}/review",
                      **{f"r{people.news_id}-review_months": "0"})  # fmt: skip
    assert bad.status_code == 302
    member = people.ids["member"]
    for value in ("RN\r\nInjected: yes", "x" * 201):
        people.post("admin", f"/admin/users/{member}/reviewer", credentials=value)
    assert people["member"].get("/reviews").status_code == 403
    people.post("admin", f"/admin/users/{member}/reviewer", credentials="  LPN ")
    assert people["member"].get("/reviews").status_code == 200
    assert 'value="LPN"' in people["admin"].get("/admin/users").text
    people.post("admin", f"/admin/users/{member}/reviewer", credentials="")
    assert people["member"].get("/reviews").status_code == 403
    assert (
        people.post("editor", f"/admin/users/{member}/reviewer", credentials="MD").status_code
        == 403
    )


def test_the_page_cache_shows_the_reviewed_version_at_once(database_url, tmp_path):
    from tests.member_roles import own_app

    with own_app(database_url, PAGE_CACHE_ENABLED=True,
                 PAGE_CACHE_GENERATION_FILE=str(tmp_path / "generation")) as app:  # fmt: skip
        people = People(app)
        post = publish_reviewed(people, app)
        reader = app.test_client()
        for _ in range(2):
            assert "Drink water." in reader.get(f"/posts/{post.slug}").text
        people.write(slug=post.slug, body="Drink milk.", submit_review="Submit for review")
        assert "Drink water." in reader.get(f"/posts/{post.slug}").text
        people.decide(post.id, who="reviewer2", approve="Approve")
        people.write(slug=post.slug, body="Drink milk.", publish="Publish")
        page = reader.get(f"/posts/{post.slug}").text
        assert "Drink milk." in page and "rob, MD" in page


def test_any_post_says_updated_once_its_text_changed_after_publishing(app, people):
    slug = "hydration-on-night-shifts"
    people.write(category=str(people.news_id), publish="Publish")
    assert "Updated <time" not in people["reader"].get(f"/posts/{slug}").text
    people.write(slug=slug, category=str(people.news_id), body="Drink tea.",
                 change_note="Tea counts", note_public="y", publish="Publish")  # fmt: skip
    page = people["reader"].get(f"/posts/{slug}").text
    assert "Updated <time" in page and "Tea counts" in page
    data = json.loads(JSON_LD.findall(page)[0])
    assert data["dateModified"] > data["datePublished"]


def test_review_pages_stay_out_of_search_engines(client):
    lines = client.get("/robots.txt").text.splitlines()
    assert "Disallow: /reviews" in lines and "Disallow: /posts/*/history" in lines


def test_seed_demo_makes_advice_need_review(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        needs = dict(db.session.execute(select(Category.slug, Category.needs_review)).all())
        assert needs == {"news": False, "advice": True, "updates": False}


def test_migration_0014_keeps_old_review_lines_as_history_and_starts_revisions(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with app.app_context():
        downgrade(revision="0013")
        db.session.execute(text(
            "INSERT INTO users (username, username_key, display_name, bio, bio_html, role,"
            " suspended, session_version, notify_replies, notify_comments, created_at)"
            " VALUES ('old', 'old', '', '', '', 'author', false, 1, false, true,"
            " CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        db.session.execute(text(
            "INSERT INTO categories (name, slug, description) VALUES ('Advice', 'advice', '')"
        ))  # fmt: skip
        db.session.execute(text(
            "INSERT INTO posts (kind, title, slug, body_md, body_format, body_html, body_text,"
            " toc_json, excerpt, summary, word_count, status, published_at, created_at,"
            " updated_at, author_id, cover_alt, reviewed_by, reviewed_on, comments_open, sticky,"
            " comment_count) VALUES ('post', 'Old post', 'old-post', 'Old words', 'markdown',"
            " '<p>Old words</p>', 'Old words', '[]', '', 'Old words', 2, 'published',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, (SELECT id FROM users),"
            " '', 'Jo Lee, RN', '2025-03-04', true, false, 0)"
        ))  # fmt: skip
        db.session.commit()
        upgrade()
        db.session.remove()
        post = db.session.scalar(select(Post))
        assert post.review_history_note.startswith("Reviewed by Jo Lee, RN on 2025-03-04")
        revision = db.session.get(PostRevision, post.live_revision_id)
        assert (revision.number, revision.body_md) == (1, "Old words")
        assert db.session.scalar(select(Category.needs_review)) is True
        db.session.remove()


def test_an_approved_advice_post_scheduled_goes_public_when_due_and_not_before(app, people):
    from zoneinfo import ZoneInfo

    slug = "hydration-on-night-shifts"
    people.write(submit_review="Submit for review")
    post = post_row(app)
    assert people.decide(post.id, approve="Approve").status_code == 302
    zone = ZoneInfo(app.config["BLOG_TIMEZONE"])
    when = (utcnow() + timedelta(days=2)).astimezone(zone).replace(second=0, microsecond=0)
    scheduled = people.write(slug=slug, publish_at=when.strftime("%Y-%m-%dT%H:%M"),
                             schedule="Schedule")  # fmt: skip
    assert scheduled.status_code == 302
    stored = post_row(app)
    assert stored.status == "scheduled" and stored.published_at == when
    # Before its time: not on the post's page, the front page or the feed.
    assert people["reader"].get(f"/posts/{slug}").status_code == 404
    assert "Hydration on night shifts" not in people["reader"].get("/").text
    assert "Hydration on night shifts" not in people["reader"].get("/feed.xml").text
    # Its time comes (the clock is the database row's: no job runs).
    with app.app_context():
        db.session.get(Post, post.id).published_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = people["reader"].get(f"/posts/{slug}")
    assert page.status_code == 200
    assert re.search(r'Medically reviewed by\s*<a href="/author/rae">', page.text)
    assert "Hydration on night shifts" in people["reader"].get("/").text


def test_the_reviewed_line_says_on_which_date_the_version_was_approved(app, people):
    from blogapp.models import ReviewDecision

    post = publish_reviewed(people, app)
    with app.app_context():
        # A fixed moment late in the UTC day: the line shows the site's (New York) date.
        decision = db.session.scalar(select(ReviewDecision))
        decision.created_at = decision.created_at.replace(2025, 3, 5, 2, 30)
        db.session.commit()
    page = people["reader"].get(f"/posts/{post.slug}").text
    assert re.search(
        r'Medically reviewed by\s*<a href="/author/rae">Rae Reviewer, RN, MSN</a>\s*'
        r'on <time datetime="2025-03-0[45][^"]*">March 4, 2025</time></p>',
        page,
    )


def test_approval_without_a_category_setting_gives_the_default_12_month_cycle(app, people):
    with app.app_context():
        assert db.session.get(Category, people.advice_id).review_months == 12
    # A category an admin adds in the browser starts at 12 months too.
    people.post("admin", "/admin/categories", name="Wound care", description="")
    with app.app_context():
        added = db.session.scalar(select(Category).where(Category.name == "Wound care"))
        assert added.review_months == 12
    publish_reviewed(people, app)
    assert post_row(app).next_review_on == add_months(utcnow().date(), 12)


def test_approving_a_post_whose_category_was_deleted_uses_the_12_month_cycle(app, people):
    with app.app_context():
        db.session.get(Category, people.advice_id).review_months = 3
        db.session.commit()
    people.write(submit_review="Submit for review")
    post = post_row(app)
    deleted = people.post("admin", f"/admin/categories/{people.advice_id}/delete")
    assert deleted.status_code == 302
    assert post_row(app).category_id is None
    assert people.decide(post.id, approve="Approve").status_code == 302
    assert post_row(app).next_review_on == add_months(utcnow().date(), 12)
