"""/admin/categories: admins add, rename and delete categories; nobody else can."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blogapp.extensions import db
from blogapp.models import Category, Post
from tests.builders import make_category, make_post, make_user
from tests.helpers import csrf_token
from tests.test_authoring import OwnContextClient


@pytest.fixture
def client(app):
    app.test_client_class = OwnContextClient
    return app.test_client()


def send(client, url, **data):
    data["csrf_token"] = csrf_token(client, "/auth/login")
    return client.post(url, data=data)


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("author", 403), ("admin", 200)])
def test_only_admins_manage_categories(client, ctx, auth, role, status):
    news = make_category("News")
    auth.login(make_user(role=role).username)
    assert client.get("/admin/categories").status_code == status
    expected = 302 if status == 200 else 403
    assert send(client, "/admin/categories", name="Stories").status_code == expected
    assert (
        send(
            client, f"/admin/categories/{news.id}/rename", **{f"c{news.id}-name": "Headlines"}
        ).status_code
        == expected
    )
    assert send(client, f"/admin/categories/{news.id}/delete").status_code == expected


def test_anonymous_visitors_cannot_manage_categories(client, ctx):
    news = make_category("News")
    assert client.get("/admin/categories").status_code in (302, 401)
    assert send(client, f"/admin/categories/{news.id}/delete").status_code == 401


@pytest.fixture
def admin(ctx, auth):
    user = make_user(role="admin")
    auth.login(user.username)
    return user


def test_adding_a_category_puts_it_in_the_navigation(client, admin):
    response = send(
        client, "/admin/categories", name="  Member   stories ", description="From members."
    )
    assert response.status_code == 302
    page = client.get("/").text
    assert 'href="/category/member-stories">Member stories</a>' in page


def test_a_duplicate_or_blank_name_is_refused_with_the_text_kept(client, admin):
    make_category("News")
    response = send(client, "/admin/categories", name="news", description="Typed carefully")
    assert response.status_code == 400
    assert "already exists" in response.text and "Typed carefully" in response.text
    assert send(client, "/admin/categories", name="").status_code == 400


def test_renaming_keeps_the_address(client, admin):
    news = make_category("News")
    response = send(
        client, f"/admin/categories/{news.id}/rename", **{f"c{news.id}-name": "Headlines"}
    )
    assert response.status_code == 302
    page = client.get("/category/news")
    assert page.status_code == 200 and "Headlines" in page.text


def test_deleting_leaves_its_posts_without_a_category(client, admin):
    news = make_category("News")
    post = make_post(admin, title="Filed in news", category=news)
    response = send(client, f"/admin/categories/{news.id}/delete")
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Category)) is None
    assert db.session.get(Post, post.id).category_id is None
    assert client.get("/posts/filed-in-news").status_code == 200
    assert client.get("/category/news").status_code == 404


def test_the_page_lists_categories_with_post_counts(client, admin):
    news = make_category("News")
    make_post(admin, category=news)
    make_post(admin, category=news)
    page = client.get("/admin/categories").text
    assert "News" in page and '<td data-label="Posts">2</td>' in page
    assert 'value="Add category"' in page and "<label" in page
