"""Clinical review in Chromium: submit, changes requested, approve, publish, edit, restore."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from blogapp.extensions import db
from tests.browser.steps import no_axe_violations, sign_in
from tests.builders import make_category, make_user

BODY = (
    "Drink water every two hours[^1].\n\n[^1]: Hydration guidance, <https://example.org/water>.\n"
)


@pytest.fixture
def people(app):
    with app.app_context():
        advice = make_category("Advice")
        advice.needs_review = True
        db.session.commit()
        make_user("ana", role="author", display_name="Ana Author")
        make_user("rae", display_name="Rae Reviewer", reviewer_credentials="RN, MSN")


def test_an_advice_post_goes_through_review_and_an_edit_waits_for_the_next_approval(
    page, browser, live_server, people
):
    author = page
    reviewer = browser.new_context().new_page()
    reader = browser.new_context().new_page()
    sign_in(author, live_server, "ana", next_path="/dashboard")
    sign_in(reviewer, live_server, "rae", next_path="/dashboard")

    # The author writes an Advice post and submits it.
    author.goto(live_server + "/posts/new")
    author.get_by_role("textbox", name="Title").fill("Hydration on night shifts")
    author.get_by_role("textbox", name="Body").fill(BODY)
    author.get_by_label("Category").select_option(label="Advice")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_text("Submitted for review.")).to_be_visible()

    # The reviewer reads the exact version and asks for changes.
    reviewer.goto(live_server + "/reviews")
    reviewer.get_by_role("link", name="Hydration on night shifts").click()
    expect(reviewer.get_by_text("Drink water every two hours")).to_be_visible()
    no_axe_violations(reviewer)
    reviewer.get_by_label("Note to the author").fill("Say how much water.")
    reviewer.get_by_role("button", name="Request changes").click()
    expect(reviewer.get_by_text("Changes requested; the author sees your note.")).to_be_visible()

    # The author sees the note, edits and submits again; the reviewer approves.
    author.reload()
    expect(author.get_by_text("Say how much water.")).to_be_visible()
    author.get_by_role("textbox", name="Body").fill(BODY.replace("Drink water", "Drink 250 ml"))
    author.get_by_role("button", name="Submit for review").click()
    expect(author.get_by_text("Submitted for review.")).to_be_visible()
    reviewer.goto(live_server + "/reviews")
    reviewer.get_by_role("link", name="Hydration on night shifts").click()
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Approved.")).to_be_visible()

    # The author publishes; a reader sees the reviewed line and the references.
    author.reload()
    author.get_by_role("button", name="Publish").click()
    expect(author.get_by_text("Post published.")).to_be_visible()
    reader.goto(live_server + "/posts/hydration-on-night-shifts")
    expect(reader.get_by_text("Medically reviewed by")).to_be_visible()
    expect(reader.get_by_role("link", name="Rae Reviewer, RN, MSN")).to_have_attribute(
        "href", "/author/rae"
    )
    expect(reader.get_by_role("heading", name="References")).to_be_visible()
    reader.get_by_role("link", name="[1]").click()
    reader.get_by_role("link", name="Back to reference 1 in the text").click()
    no_axe_violations(reader)

    # The author edits: the approved version stays live until the next approval.
    author.get_by_role("textbox", name="Body").fill(BODY.replace("Drink water", "Drink 300 ml"))
    author.get_by_label("Change note").fill("More water, per new guidance")
    author.get_by_label("Show this note to readers").check()
    author.get_by_role("button", name="Save changes").click()
    expect(author.get_by_text("The approved version stays live")).to_be_visible()
    reader.reload()
    expect(reader.get_by_text("Drink 250 ml")).to_be_visible()
    author.get_by_role("button", name="Submit for review").click()
    reviewer.goto(live_server + "/reviews")
    reviewer.get_by_role("link", name="Hydration on night shifts").click()
    expect(reviewer.get_by_role("table", name="Body")).to_contain_text("300 ml")
    reviewer.get_by_role("button", name="Approve").click()
    reader.reload()
    expect(reader.get_by_text("Drink 250 ml")).to_be_visible()
    author.reload()
    author.get_by_role("button", name="Update").click()
    reader.reload()
    expect(reader.get_by_text("Drink 300 ml")).to_be_visible()
    expect(reader.get_by_text("Updated")).to_be_visible()
    reader.get_by_text("What changed").click()
    expect(reader.get_by_text("More water, per new guidance")).to_be_visible()

    # History shows the diff side by side; restoring makes a new revision that waits.
    author.get_by_role("link", name="History").click()
    diff = author.get_by_role("table", name="Body")
    expect(diff.locator("del")).to_contain_text("250 ml")
    expect(diff.locator("ins")).to_contain_text("300 ml")
    no_axe_violations(author)
    author.set_viewport_size({"width": 320, "height": 800})
    assert author.evaluate("document.documentElement.scrollWidth") <= 320  # no sideways scroll
    author.get_by_role("button", name="Restore revision 2").click()
    expect(author.get_by_text("Revision 2 restored as revision 4.")).to_be_visible()
    expect(author.get_by_role("row", name="4 Restored 2")).to_be_visible()
    reader.reload()
    expect(reader.get_by_text("Drink 300 ml")).to_be_visible()
