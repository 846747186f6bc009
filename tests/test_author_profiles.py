"""Authors people trust (issue 17): name, credentials and bio in an author box under each
post and on the author page; an avatar (ours, or initials); staff badges on comments."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import select

from blogapp import uploads
from blogapp.extensions import db
from blogapp.models import MediaImage, User, role_badge
from tests.builders import PASSWORD, make_comment, make_post, make_user
from tests.helpers import csrf_token
from tests.test_authoring import OwnContextClient
from tests.test_cache import enable_cache, sneak_title


@pytest.fixture
def client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


@pytest.fixture
def author(ctx, auth):
    user = make_user(role="author", username="dana")
    auth.login(user.username)
    return user


def jpeg(size=(900, 600)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "JPEG")
    return buffer.getvalue()


def save_profile(client, avatar: bytes | None = None, filename="me.jpg", **fields):
    data = {"display_name": "Dana Reyes", "credentials": "RN, BSN", "bio": "Night nurse."}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/account")
    if avatar is not None:
        data["avatar"] = (io.BytesIO(avatar), filename)
    return client.post("/account", data=data, content_type="multipart/form-data")


def reloaded(user_id: int) -> User:
    db.session.rollback()
    return db.session.get(User, user_id)


def test_name_credentials_and_bio_show_under_the_post_and_on_the_author_page(client, author):
    assert save_profile(client, bio="Twelve years of *nights*.").status_code == 302
    post = make_post(reloaded(author.id), title="Staying awake safely")
    page = client.get(f"/posts/{post.slug}").text
    box = re.search(r'<section class="author-box".*?</section>', page, re.S).group(0)
    assert "About the author" in box
    assert 'href="/author/dana">Dana Reyes</a>' in box
    assert "RN, BSN" in box and "<em>nights</em>" in box
    assert 'class="avatar avatar-initials" aria-hidden="true">DR<' in box
    author_page = client.get("/author/dana").text
    assert "About Dana Reyes" in author_page and "RN, BSN" in author_page


def test_credentials_are_one_line_of_plain_text(client, author):
    response = save_profile(client, credentials="RN,\r\n<b>BSN</b>\t ")
    assert response.status_code == 302
    assert reloaded(author.id).credentials == "RN, <b>BSN</b>"
    post = make_post(reloaded(author.id))
    html = client.get(f"/posts/{post.slug}").text
    assert "RN, &lt;b&gt;BSN&lt;/b&gt;" in html and "<b>BSN</b>" not in html
    too_long = save_profile(client, credentials="R" * 101)
    assert too_long.status_code == 400 and 'value="Dana Reyes"' in too_long.text


def test_an_avatar_is_squared_stored_through_the_pipeline_and_replaced_cleanly(app, client, author):
    assert save_profile(client, avatar=jpeg()).status_code == 302
    first = reloaded(author.id).avatar
    assert uploads.is_stored_name(first) and "_256" in first
    folder = app.config["UPLOAD_DIR"]
    with Image.open(os.path.join(folder, first)) as image:
        assert image.size == (256, 256) and not image.getexif()
    post = make_post(reloaded(author.id))
    box = client.get(f"/posts/{post.slug}").text.split('class="author-box"')[1]
    assert f'src="/uploads/{first}"' in box and "avatar-initials" not in box.split("</section>")[0]
    assert save_profile(client, avatar=jpeg((300, 500))).status_code == 302
    second = reloaded(author.id).avatar
    assert second != first
    assert not any(os.path.exists(os.path.join(folder, f)) for f in uploads.file_names(first))
    assert save_profile(client, remove_avatar="y").status_code == 302
    assert reloaded(author.id).avatar is None
    assert not os.path.exists(os.path.join(folder, second))


def test_a_refused_avatar_keeps_the_form_and_the_old_profile(client, author):
    response = save_profile(
        client, avatar=b"<svg onload=alert(1)>", filename="me.svg", display_name="Typed name"
    )
    assert response.status_code == 400
    assert "not an image we accept" in response.text and 'value="Typed name"' in response.text
    assert reloaded(author.id).display_name == ""


def test_staff_comments_carry_a_badge_from_their_role(client, ctx):
    writer = make_user(role="author", display_name="Writer")
    other_author = make_user(role="author", display_name="Other")
    admin = make_user(role="admin", display_name="Boss")
    editor = make_user(role="editor", display_name="Edith")
    member = make_user(display_name="Member")
    post = make_post(writer)
    for user in (writer, other_author, admin, editor, member):
        make_comment(post, body=f"From {user.display_name}", user_id=user.id, guest_name="")
    make_comment(post, body="From a guest")
    html = client.get(f"/posts/{post.slug}").text

    def badges(name):
        item = html.split(f"From {name}")[0].rsplit('<li class="comment', 1)[1]
        return re.findall(r'class="(?:author|role)-badge">([^<]+)<', item)

    assert badges("Writer") == ["Post author"]
    assert badges("Other") == ["Author"]
    assert badges("Boss") == ["Moderator"]
    assert badges("Edith") == ["Editor"]
    assert badges("Member") == [] and badges("a guest") == []
    assert [role_badge(r) for r in ("member", "author", "editor", "admin", None)] == [
        "",
        "Author",
        "Editor",
        "Moderator",
        "",
    ]


def test_a_profile_change_shows_at_once_on_cached_pages(app, client, tmp_path):
    enable_cache(app, tmp_path)
    with app.app_context():
        post = make_post(make_user(role="author", username="kim"))
        slug, post_id, title = post.slug, post.id, post.title
    assert "LPN" not in client.get(f"/posts/{slug}").text
    sneak_title(app, post_id, title)
    assert client.get(f"/posts/{slug}").headers["X-Page-Cache"] == "hit"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "kim"))
        user.credentials = "LPN"
        db.session.commit()
    again = client.get(f"/posts/{slug}")
    assert again.headers["X-Page-Cache"] == "miss" and "LPN" in again.text


def test_deleting_an_account_removes_its_avatar_and_images(app, client, author):
    assert save_profile(client, avatar=jpeg()).status_code == 302
    image = io.BytesIO(jpeg((500, 400)))
    client.post(
        "/media",
        data={
            "csrf_token": csrf_token(client, "/media"),
            "alt": "A ward",
            "image": (image, "w.jpg"),
        },
        content_type="multipart/form-data",
    )
    folder = app.config["UPLOAD_DIR"]
    assert len(os.listdir(folder)) >= 4  # the avatar and the image, with their copies
    response = client.post(
        "/account/delete",
        data={"csrf_token": csrf_token(client, "/account/delete"), "current": PASSWORD},
    )
    assert response.status_code == 302
    assert os.listdir(folder) == []
    db.session.rollback()
    assert db.session.scalars(select(MediaImage)).all() == []
