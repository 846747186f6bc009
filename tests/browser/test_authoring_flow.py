"""An author in Chromium: write, preview, schedule, publish, edit and delete a post."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.steps import axe_violations, sign_in
from tests.builders import make_category, make_user

BODY = """Shift work asks a lot of people.

## Sleep first

Protect the hours after a night shift:

- blackout curtains
- a fixed wind-down routine
- [the co-op's guide](https://example.org/sleep)

## A week of shifts

| Day | Shift |
|:----|------:|
| Mon | Night |
| Tue | Off |

## Code for the rota script

```python
print("rota")
```
"""


@pytest.fixture
def author(app):
    with app.app_context():
        make_category("Advice")
        user = make_user(role="author", username="writer")
        return user.username


@pytest.fixture
def cover(tmp_path):
    path = tmp_path / "cover.jpg"
    Image.new("RGB", (1800, 900), "teal").save(path, "JPEG")
    return path


def test_an_author_writes_previews_schedules_publishes_edits_and_deletes(
    page, live_server, author, cover
):
    sign_in(page, live_server, author, next_path="/dashboard")
    page.goto(live_server + "/posts/new")
    assert axe_violations(page) == []

    page.get_by_role("textbox", name="Title").fill("Sleeping after night shifts")
    page.get_by_role("textbox", name="Body").fill(BODY)
    page.get_by_label("Category").select_option(label="Advice")
    page.get_by_label("Tags").fill("Sleep, Night shifts")
    page.get_by_label("Cover image", exact=True).set_input_files(str(cover))
    page.get_by_label("Cover image description (alt text)").fill("A dark, quiet bedroom")

    # The live preview (static/js/preview.js) follows the typing.
    live = page.get_by_role("complementary", name="Live preview")
    live.get_by_role("heading", name="Sleep first").wait_for()

    # Preview without saving: the article as readers will see it, the form still filled in.
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview — not saved yet")
    expect(
        preview.get_by_role("heading", level=1, name="Sleeping after night shifts")
    ).to_be_visible()
    expect(preview.get_by_role("heading", level=2, name="A week of shifts")).to_be_visible()
    expect(preview.get_by_role("link", name="the co-op's guide")).to_be_visible()
    expect(preview.locator("table td.align-right").first).to_have_text("Night")
    expect(preview.locator("pre code.language-python")).to_have_text('print("rota")')
    assert preview.locator("img.cover").get_attribute("srcset").count("w,") == 2
    expect(page.get_by_role("textbox", name="Title")).to_have_value("Sleeping after night shifts")
    expect(page.get_by_text("A cover image is attached.")).to_be_visible()

    # Schedule it for tomorrow, in the site's time zone.
    tomorrow = datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)
    page.get_by_label("Publish date and time").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("Post scheduled for")).to_be_visible()
    page.goto(live_server + "/")
    expect(page.get_by_role("link", name="Sleeping after night shifts")).to_have_count(0)

    # Publish now.
    page.goto(live_server + "/dashboard")
    expect(page.get_by_role("row", name="Sleeping after night shifts")).to_contain_text("Scheduled")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Edit “Sleeping after night shifts”").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Post published.")).to_be_visible()

    page.goto(live_server + "/")
    page.get_by_role("link", name="Sleeping after night shifts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sleeping after night shifts")
    expect(page.get_by_role("navigation", name="Contents")).to_be_visible()
    expect(page.get_by_role("img", name="A dark, quiet bedroom")).to_be_visible()
    page.goto(live_server + "/category/advice")
    expect(page.get_by_role("link", name="Sleeping after night shifts")).to_be_visible()

    # Edit it.
    page.goto(live_server + "/dashboard")
    page.get_by_role("link", name="Edit “Sleeping after night shifts”").click()
    page.get_by_role("textbox", name="Title").fill("Sleeping well after night shifts")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("Post published.")).to_be_visible()
    page.get_by_role("link", name="View post").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sleeping well after night shifts")

    # Delete it, with a confirmation step.
    page.goto(live_server + "/dashboard")
    page.get_by_role("link", name="Delete “Sleeping well after night shifts”").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Delete “Sleeping well after night shifts”?"
    )
    page.get_by_role("button", name="Delete post").click()
    expect(page.get_by_text("was deleted")).to_be_visible()
    response = page.goto(live_server + "/posts/sleeping-after-night-shifts")
    assert response.status == 404
    page.problems.clear()  # the console's note about the 404 we asked for


def test_a_refused_upload_keeps_what_was_typed(page, live_server, author, tmp_path):
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    sign_in(page, live_server, author, next_path="/dashboard")
    page.goto(live_server + "/posts/new")
    page.get_by_role("textbox", name="Title").fill("Kept title")
    page.get_by_role("textbox", name="Body").fill("Kept body text")
    page.get_by_label("Cover image", exact=True).set_input_files(str(fake))
    page.get_by_label("Cover image description (alt text)").fill("Alt")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("not an image we accept")).to_be_visible()
    expect(page.get_by_role("textbox", name="Title")).to_have_value("Kept title")
    expect(page.get_by_role("textbox", name="Body")).to_have_value("Kept body text")
    page.problems.clear()  # the 400 status shows as a console note
