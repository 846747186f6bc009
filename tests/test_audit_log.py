"""The audit log: every staff action is appended; admins filter and page it; nothing edits it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from blogapp import audit
from blogapp.extensions import db
from blogapp.models import AuditEntry, Post, utcnow
from tests.builders import make_comment
from tests.test_clinical_review import People, post_row, publish_reviewed

WXR = Path(__file__).parent / "fixtures" / "wxr" / "coop-site.xml"


@pytest.fixture
def people(app):
    return People(app)


def logged(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.target_label)
        )
        return [tuple(row) for row in rows]


def test_every_staff_action_is_in_the_audit_log(app, people, runner, tmp_path):
    # Posts: submit, request changes, approve, publish, unpublish, restore, delete.
    people.write(submit_review="Submit for review")
    post = post_row(app)
    people.decide(post.id, request_changes="Request changes", note="More detail")
    publish_reviewed(people, app, body="Drink water, more detail.", slug=post.slug)
    people.post("author", f"/posts/{post.slug}/unpublish")
    people.post("author", f"/posts/{post.slug}/history/1/restore")
    # Comments: each moderation action.
    with app.app_context():
        live = db.session.scalar(select(Post).where(Post.id == post.id))
        ids = [make_comment(live, f"Comment {n}", status="pending").id for n in range(3)]
    for action, comment_id in zip(("approve", "spam", "delete"), ids, strict=True):
        people.post("editor", "/admin/comments", action=action, ids=str(comment_id))
    people.post("admin", "/admin/comments/words", words="casino")
    people.post("admin", "/admin/categories/overdue-note", enabled="0")
    # People: role change, reviewer designation, suspend, reinstate.
    member = people.ids["member"]
    people.post("admin", f"/admin/users/{member}/role", role="author")
    people.post("admin", f"/admin/users/{member}/reviewer", credentials="RN")
    people.post("admin", f"/admin/users/{member}/suspend")
    people.post("admin", f"/admin/users/{member}/reinstate")
    people.post("author", f"/posts/{post.slug}/delete")
    # Command line: import and export.
    assert runner.invoke(args=["import-wxr", str(WXR)]).exit_code == 0
    dump = tmp_path / "export.json"
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0

    entries = logged(app)
    actions = {action for action, _, _ in entries}
    expected = {
        "submit", "request_changes", "approve", "publish", "unpublish", "restore", "delete",
        "comment_approve", "comment_spam", "comment_delete", "settings_change", "role_change",
        "reviewer_change", "suspend", "reinstate", "import", "export",
    }  # fmt: skip
    assert expected <= actions, expected - actions
    assert ("approve", "rae", "Hydration on night shifts") in entries
    assert ("request_changes", "rae", "Hydration on night shifts") in entries
    assert ("delete", "ana", "Hydration on night shifts") in entries
    assert ("suspend", "adm", "mem") in entries
    assert ("export", "command line", "") in entries
    # The JSON export carries the log.
    exported = json.loads(dump.read_text())["tables"]["audit_log"]
    assert len(exported["rows"]) == len(entries)


def test_an_editors_fix_is_recorded_as_such(app, people):
    post = publish_reviewed(people, app)
    people.write(who="editor", slug=post.slug, body="Drink water.\n\nEvery two hours!",
                 fix="y", change_note="Punctuation", publish="Publish")  # fmt: skip
    assert ("publish_fix", "eda", "Hydration on night shifts") in logged(app)


def test_admins_filter_the_log_by_person_action_and_date_and_page_it(app, people):
    with app.app_context():
        for n in range(55):
            audit.record(None, "export", detail=f"file {n}")
        old = audit.record(None, "import", detail="long ago")
        old.created_at = utcnow() - timedelta(days=40)
        db.session.commit()
    people.post("admin", f"/admin/users/{people.ids['member']}/suspend")
    admin = people["admin"]
    page = admin.get("/admin/audit").text
    assert "page 1 of 2" in page and "Suspend" in page
    assert "file 4" in admin.get("/admin/audit?page=2").text
    by_person = admin.get("/admin/audit?person=ADM").text
    assert "Suspend" in by_person and "file 3" not in by_person
    by_action = admin.get("/admin/audit?action=import").text
    assert "long ago" in by_action and "file 3" not in by_action
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    assert "long ago" not in admin.get(f"/admin/audit?since={since}").text
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    only_old = admin.get(f"/admin/audit?until={until}").text
    assert "long ago" in only_old and "file 3" not in only_old
    odd_queries = ("?since=x&until=2026-13-45", "?action=<script>", "?page=-4", "?person=%_")
    for odd in odd_queries:
        assert admin.get("/admin/audit" + odd).status_code == 200


def test_nothing_edits_or_deletes_an_entry(app, people):
    assert people["admin"].post("/admin/audit").status_code == 405
    with app.app_context():
        entry = audit.record(None, "export")
        db.session.commit()
        entry.detail = "rewritten"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEntry, entry.id))
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEntry, entry.id).detail == ""


def test_saving_the_site_settings_is_audited(app, people):
    from tests.test_site_settings import form_values

    admin = people["admin"]
    data = {**form_values(admin), "title": "AlliedUP News"}
    assert admin.post("/admin/settings", data=data).status_code == 302
    assert ("settings_change", "adm", "") in logged(app)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "settings_change"))
        assert "title" in entry.detail
