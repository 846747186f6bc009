"""Images inside posts (issue 17): uploaded with alt text from the editor or /media, served
as <picture> with WebP/AVIF copies, listed with where each is used, deleted only when asked."""

from __future__ import annotations

import io
import os
import re

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import select

from blogapp import uploads
from blogapp.extensions import db
from blogapp.markup import render_post
from blogapp.models import MediaImage, Post
from tests.builders import make_post, make_user
from tests.helpers import csrf_token
from tests.test_authoring import OwnContextClient, form_data


@pytest.fixture
def client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


@pytest.fixture
def author(ctx, auth):
    user = make_user(role="author")
    auth.login(user.username)
    return user


def png(size=(900, 500)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, data=None, alt="A nurse at a bedside", json=False, filename="photo.png"):
    form = {"csrf_token": csrf_token(client, "/media"), "alt": alt}
    if data is not False:
        form["image"] = (io.BytesIO(png() if data is None else data), filename)
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/media", data=form, content_type="multipart/form-data", headers=headers)


def images() -> list[MediaImage]:
    db.session.rollback()
    return list(db.session.scalars(select(MediaImage)))


def test_an_author_uploads_an_image_with_alt_text_and_gets_its_markdown(app, client, author):
    response = upload(client)
    assert response.status_code == 302
    [image] = images()
    assert image.owner_id == author.id and image.alt == "A nurse at a bedside"
    assert (image.width, image.height) == (900, 500)
    assert uploads.is_stored_name(image.name)
    for file in uploads.file_names(image.name)[:1] + [
        f"{image.name.split('_')[0]}_900.{ext}" for ext in ("webp",)
    ]:
        assert os.path.exists(os.path.join(app.config["UPLOAD_DIR"], file))
    page = client.get(response.headers["Location"]).text
    assert f"![A nurse at a bedside](/uploads/{image.name})" in page
    assert "Not used in any post yet." in page


def test_the_editor_script_gets_json_with_the_markdown(client, author):
    response = upload(client, alt="Hands [washing] *well*", json=True)
    assert response.status_code == 201
    [image] = images()
    assert response.json["markdown"] == rf"![Hands \[washing\] \*well\*](/uploads/{image.name})"
    refused = upload(client, alt="", json=True)
    assert refused.status_code == 400
    assert "Describe the image" in refused.json["error"]


@pytest.mark.parametrize(
    ("data", "alt", "message"),
    [
        (None, "   ", "Describe the image for people who can&#39;t see it"),
        (None, "x" * 301, "under 300 characters"),
        (False, "A photo", "Choose an image to upload."),
        (b"<svg onload=alert(1)></svg>", "Logo", "not an image we accept"),
        (b"", "Empty", "The file is empty"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(client, author, data, alt, message):
    response = upload(client, data=data, alt=alt)
    assert response.status_code == 400
    assert message in response.text
    assert images() == []


def test_an_upload_without_a_csrf_token_is_refused(client, author):
    response = client.post(
        "/media",
        data={"alt": "x", "image": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert images() == []


def test_members_and_visitors_cannot_upload(app, ctx):
    visitor = app.test_client()
    assert visitor.post("/media").status_code in (400, 401)  # no token, no session
    assert visitor.get("/media").status_code == 302
    member = make_user()
    client = app.test_client()
    client.post(
        "/auth/login",
        data={
            "login": member.username,
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(client),
        },
    )
    assert client.get("/media").status_code == 403


def test_the_editor_without_javascript_uploads_and_shows_the_markdown_keeping_the_form(
    client, author
):
    form = form_data(title="Hand hygiene", body="Words I typed")
    form.update(
        csrf_token=csrf_token(client, "/posts/new"),
        inline_alt="Soap and water",
        upload_image="Upload image",
        inline_image=(io.BytesIO(png()), "soap.png"),
    )
    response = client.post("/posts/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    [image] = images()
    assert f'value="![Soap and water](/uploads/{image.name})"' in response.text
    assert "Copy this line into the body" in response.text
    assert "Words I typed" in response.text and 'value="Hand hygiene"' in response.text
    assert db.session.scalar(select(Post)) is None  # nothing saved but the image


def test_the_editor_asks_for_alt_text_and_keeps_the_form(client, author):
    form = form_data(body="Still here")
    form.update(
        csrf_token=csrf_token(client, "/posts/new"),
        upload_image="Upload image",
        inline_image=(io.BytesIO(png()), "soap.png"),
    )
    response = client.post("/posts/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Describe the image" in response.text and "Still here" in response.text
    assert images() == []


def test_enter_in_a_field_still_saves_a_draft_not_an_upload(client, author):
    html = client.get("/posts/new").text.split('id="post-form"')[1]
    buttons = re.findall(r'<(?:button|input)[^>]*type="submit"[^>]*>', html)
    assert 'name="save_draft"' in buttons[0]  # the form's default button


def test_an_image_in_a_post_is_a_picture_with_modern_copies_and_the_original_as_fallback(
    app, client, author
):
    upload(client)
    [image] = images()
    token = image.name.split("_")[0]
    post = make_post(author, body=f"Intro.\n\n![A nurse at a bedside](/uploads/{image.name})\n")
    html = client.get(f"/posts/{post.slug}").text
    picture = re.search(r"<picture>.*?</picture>", html, re.S).group(0)
    assert f'<source type="image/webp" srcset="/uploads/{token}_800.webp 800w, ' in picture
    assert ("image/avif" in picture) == ("a" in uploads.modern_formats())
    assert f'<img src="/uploads/{image.name}" alt="A nurse at a bedside"' in picture
    assert picture.index("image/webp") < picture.index("<img")
    for path in re.findall(r"/uploads/[^ \"]+", picture):
        assert client.get(path).status_code == 200, path


def test_authors_cannot_write_picture_source_or_srcset_themselves():
    html = render_post(
        '<picture><source srcset="https://evil.example/x.png"></picture>'
        '<img src="/uploads/x.png" srcset="https://evil.example/y.png 1w" sizes="1px"'
        ' loading="eager" onerror="alert(1)">'
    ).html
    assert "source" not in html and "evil" not in html and "onerror" not in html
    assert html.count("<img") == 1 and "srcset" not in html  # not one of ours: left plain


def test_the_upload_route_is_where_markup_points(app):
    with app.test_request_context():
        assert url_for("posts.upload", name="a.png") == uploads.PUBLIC_PATH + "a.png"


def test_the_media_page_says_where_each_image_is_used(client, author):
    upload(client)
    upload(client, alt="Second")
    used, unused = sorted(images(), key=lambda i: i.alt != "A nurse at a bedside")
    make_post(author, title="Night shift tips", body=f"![x](/uploads/{used.name})")
    page = client.get("/media").text
    item = page.split(f'id="image-{used.id}"')[1].split("</li>")[0]
    assert "Used in:" in item and "Night shift tips" in item
    other = page.split(f'id="image-{unused.id}"')[1].split("</li>")[0]
    assert "Not used in any post yet." in other


def test_an_image_in_use_is_deleted_only_after_saying_so(app, client, author):
    upload(client)
    [image] = images()
    name = image.name
    make_post(author, title="Uses it", body=f"![x](/uploads/{name})")
    path = f"/media/{image.id}/delete"
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "This image is in use" in confirm.text and "Uses it" in confirm.text
    token = csrf_token(client, path)
    refused = client.post(path, data={"csrf_token": token})
    assert refused.status_code == 400 and "tick the box" in refused.text
    assert len(images()) == 1
    done = client.post(path, data={"csrf_token": token, "in_use_ok": "y"})
    assert done.status_code == 302
    assert images() == []
    assert not any(
        os.path.exists(os.path.join(app.config["UPLOAD_DIR"], f)) for f in uploads.file_names(name)
    )


def test_an_unused_image_is_deleted_from_its_confirmation_page(client, author):
    upload(client)
    [image] = images()
    path = f"/media/{image.id}/delete"
    assert "isn't used in any post" in client.get(path).text
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 302
    assert images() == []


def test_another_author_cannot_see_or_delete_an_image(app, client, author):
    upload(client)
    [image] = images()
    other = make_user(role="author")
    intruder = app.test_client()
    intruder.post(
        "/auth/login",
        data={
            "login": other.username,
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(intruder),
        },
    )
    assert image.name not in intruder.get("/media").text
    path = f"/media/{image.id}/delete"
    assert intruder.get(path).status_code == 403
    token = csrf_token(intruder, "/media")
    assert intruder.post(path, data={"csrf_token": token, "in_use_ok": "y"}).status_code == 403
    assert len(images()) == 1
    assert intruder.get("/media/999999/delete").status_code == 404


def photo_with_metadata() -> bytes:
    """A camera JPEG carrying who took it, with what, and where (GPS), plus a comment."""
    exif = Image.Exif()
    exif[0x013B] = "Jo Private-Name"  # Artist
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x8298] = "Copyright Jo Private-Name"  # Copyright
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.0)}  # GPS
    buffer = io.BytesIO()
    Image.new("RGB", (1400, 900), "teal").save(
        buffer, "JPEG", exif=exif, comment=b"home address: 1 Secret Lane"
    )
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif()  # the fixture really has it
    return buffer.getvalue()


def test_an_image_uploaded_for_a_post_keeps_no_camera_or_gps_metadata(app, client, author):
    assert upload(client, photo_with_metadata(), filename="IMG_0001.jpg").status_code == 302
    [image] = images()
    folder = app.config["UPLOAD_DIR"]
    stored = [name for name in uploads.file_names(image.name)
              if os.path.exists(os.path.join(folder, name))]  # fmt: skip
    assert image.name in stored and any(name.endswith(".webp") for name in stored)
    for name in stored:
        served = client.get(f"/uploads/{name}")
        assert served.status_code == 200, name
        raw = served.get_data()
        for secret in (b"Jo Private-Name", b"SpyCam", b"Secret Lane"):
            assert secret not in raw, (name, secret)
        with Image.open(io.BytesIO(raw)) as copy:
            assert not copy.getexif(), name  # no Artist, Make, Copyright or GPS
            assert "exif" not in copy.info and "comment" not in copy.info, name
