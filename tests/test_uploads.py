"""Cover images: only real images, re-encoded without metadata, sized for srcset.

Anything refused comes back with the rest of the form kept."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import select

from blogapp import uploads
from blogapp.extensions import db
from blogapp.models import Post
from tests.builders import make_user
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


def image_bytes(fmt="JPEG", size=(2000, 1200), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, fmt, **save)
    return buffer.getvalue()


def with_gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    return image_bytes("JPEG", exif=exif)


def upload(client, data: bytes, filename: str, **fields):
    form = form_data(**fields)
    form.setdefault("cover_alt", "Nurses at a shift change")
    form.setdefault("publish", "Publish")
    form["csrf_token"] = csrf_token(client, "/posts/new")
    form["cover"] = (io.BytesIO(data), filename)
    return client.post("/posts/new", data=form, content_type="multipart/form-data")


def saved_post() -> Post | None:
    db.session.rollback()
    return db.session.scalar(select(Post))


def test_a_real_image_is_stored_reencoded_and_resized(app, client, author):
    response = upload(client, with_gps_exif(), "../../etc/passwd.jpg")
    assert response.status_code == 302
    post = saved_post()
    name = post.cover_image
    formats = uploads.modern_formats()
    # random, never the uploaded name; the modern copies it has are in the name
    assert re.fullmatch(rf"[0-9a-f]{{32}}_2000-{formats}\.jpg", name)
    token = name.split("_")[0]
    folder = app.config["UPLOAD_DIR"]
    stored = sorted(os.listdir(folder))
    extensions = ["jpg", *(["avif"] if "a" in formats else []), "webp"]
    assert len(stored) == 3 * len(extensions)  # 2000 wide, plus 800 and 1600, in each format
    for width in (800, 1600, 2000):
        for ext in extensions:
            file = name if (width, ext) == (2000, "jpg") else f"{token}_{width}.{ext}"
            with Image.open(os.path.join(folder, file)) as image:
                assert image.width == width
                assert image.format == {"jpg": "JPEG", "avif": "AVIF", "webp": "WEBP"}[ext]
                assert not image.getexif()  # camera and GPS data gone
                assert "exif" not in image.info
    page = client.get(f"/posts/{post.slug}").text
    assert f"/uploads/{name}" in page
    assert re.search(
        r'srcset="/uploads/[0-9a-f]{32}_800\.jpg 800w, '
        r'[^"]+_1600\.jpg 1600w, [^"]+_2000-a?w\.jpg 2000w"',
        page,
    )
    assert re.search(
        rf'<source type="image/webp" srcset="/uploads/{token}_800\.webp 800w, '
        rf'/uploads/{token}_1600\.webp 1600w, /uploads/{token}_2000\.webp 2000w"',
        page,
    )
    assert 'alt="Nurses at a shift change"' in page
    assert 'srcset="' in client.get("/").text


def test_uploads_are_served_with_their_type_and_nosniff(client, author):
    upload(client, image_bytes("PNG", size=(300, 200)), "tiny.png")
    name = saved_post().cover_image
    assert re.search(r"_300(-a?w)?\.png$", name)
    token = name.split("_")[0]
    types = {name: "image/png", f"{token}_300.webp": "image/webp"}
    if "a" in uploads.modern_formats():
        types[f"{token}_300.avif"] = "image/avif"
    for file, mime in types.items():
        response = client.get(f"/uploads/{file}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == mime
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/uploads/../secret_key").status_code == 404


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_other_web_formats_are_accepted(client, author, fmt):
    mode = "P" if fmt == "GIF" else "RGBA"
    response = upload(client, image_bytes(fmt, size=(900, 500), mode=mode), f"pic.{fmt.lower()}")
    assert response.status_code == 302
    assert saved_post().cover_image.endswith(".webp" if fmt == "WEBP" else ".png")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (SVG, "logo.svg", "not an image we accept"),
        (HTML, "photo.png", "not an image we accept"),
        (b"GIF89a" + b"\x00" * 20, "broken.gif", "not an image we accept"),
        (image_bytes("JPEG")[:400], "cut.jpg", "not an image we accept"),
        (image_bytes("BMP", size=(10, 10)), "old.bmp", "not an image we accept"),
        (b"", "empty.png", "empty"),
    ],
)
def test_anything_but_a_real_image_is_refused_and_the_form_kept(
    client, author, data, filename, message
):
    response = upload(client, data, filename, body="Words to keep", tags="care, nights")
    assert response.status_code == 400
    assert message in response.text
    assert "Words to keep" in response.text and 'value="care, nights"' in response.text
    assert saved_post() is None


def test_an_oversized_file_is_refused(client, author):
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG", compress_level=0)
    assert buffer.tell() > 5 * 1024 * 1024
    response = upload(client, buffer.getvalue(), "huge.png", body="Still here")
    assert response.status_code == 400
    assert "larger than 5 MB" in response.text and "Still here" in response.text


def test_a_decompression_bomb_is_refused_without_decoding_it(client, author):
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, "PNG")  # 144 megapixels in a few kilobytes
    assert buffer.tell() < 100_000
    response = upload(client, buffer.getvalue(), "bomb.png")
    assert response.status_code == 400
    assert "too many pixels" in response.text
    assert saved_post() is None


def test_a_cover_needs_alt_text_and_is_kept_while_the_form_is_fixed(app, client, author):
    response = upload(client, image_bytes(size=(1000, 600)), "cover.jpg", cover_alt="")
    assert response.status_code == 400
    assert "Describe the cover image" in response.text
    kept = re.search(
        r'name="cover_image" type="hidden" value="([0-9a-f]{32}_1000(?:-a?w)?\.jpg)"', response.text
    )
    assert kept, "the uploaded image rides along while the form is fixed"
    assert "A cover image is attached." in response.text
    form = form_data(cover_alt="A calm ward", cover_image=kept.group(1), publish="Publish")
    form["csrf_token"] = csrf_token(client, "/posts/new")
    assert client.post("/posts/new", data=form).status_code == 302
    assert saved_post().cover_image == kept.group(1)


def test_a_forged_cover_name_is_refused(client, author):
    form = form_data(cover_alt="x", cover_image="../../instance/secret_key", publish="Publish")
    form["csrf_token"] = csrf_token(client, "/posts/new")
    response = client.post("/posts/new", data=form)
    assert response.status_code == 400 and "Choose the cover image again" in response.text


def test_removing_the_cover(client, author):
    upload(client, image_bytes(size=(900, 600)), "cover.jpg")
    post = saved_post()
    form = form_data(
        title=post.title, cover_image=post.cover_image, remove_cover="y", publish="Update"
    )
    form["csrf_token"] = csrf_token(client, "/posts/new")
    assert client.post(f"/posts/{post.slug}/edit", data=form).status_code == 302
    assert saved_post().cover_image is None
