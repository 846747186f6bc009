"""Reading pages: home, a post, archives and standalone pages."""

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..cache import public_page
from ..extensions import db
from ..inputs import MAX_PAGE, optional_int, written_as_number
from ..models import Category, PostKind, Tag, User
from ..wordpress import redirects as wordpress_redirects
from . import bp, services
from .post_page import render_post_page


def requested_page() -> int:
    """?page=N of a public list: 1 for no number at all; 404 for a page that can't exist."""
    raw = request.args.get("page", "")
    if not written_as_number(raw):
        return 1
    page = optional_int(raw)  # None: negative, or past any column's range
    if page is None or not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


def render_list(query, template: str = "posts/list.html", with_lead: bool = False, **context):
    """A paged list of posts; with_lead: the first page opens with a lead post (home)."""
    pagination = services.paginate(services.listed(query), requested_page(), 10)
    lead, posts = (
        services.home_lead(pagination.items, pagination.page)
        if with_lead
        else (None, pagination.items)
    )
    return render_template(template, pagination=pagination, lead=lead, posts=posts, **context)


@bp.app_template_global()
def footer_archive() -> list:
    """The footer's months with posts, once per request; none while the database is down."""
    if "footer_archive" not in g:
        g.footer_archive = []
        if not g.get("database_down"):
            try:
                g.footer_archive = services.archive_months()
            except SQLAlchemyError:
                db.session.rollback()
    return g.footer_archive


@bp.get("/")
@public_page
def index():
    # An old WordPress link: /?p=ID, /?s=words... (no query string: no database lookup)
    if target := wordpress_redirects.for_home_query(request.args):
        return redirect(target, 301)
    return render_list(services.visible_posts(), template="posts/index.html", with_lead=True)


@bp.get("/posts/<slug>")
@public_page
def detail(slug: str):
    post = services.get_visible_post(slug)
    if post is None:
        moved = services.redirect_target(slug)
        if moved is None:
            abort(404)
        return redirect(url_for("posts.detail", slug=moved.slug), 301)
    return render_post_page(post)


@bp.get("/pages/<slug>")
@public_page
def page(slug: str):
    post = services.visible_post_or_404(slug, kind=PostKind.PAGE)
    return render_template("posts/page.html", post=post)


@bp.get("/category/<slug>")
@public_page
def category(slug: str):
    found = db.first_or_404(select(Category).where(Category.slug == slug))
    return render_list(
        services.in_category(found), heading=found.name, description_html=found.description_html
    )


@bp.get("/tag/<slug>")
@public_page
def tag(slug: str):
    found = db.first_or_404(select(Tag).where(Tag.slug == slug))
    return render_list(services.with_tag(found), heading=f"Tagged “{found.name}”")


@bp.get("/author/<username>")
@public_page
def author(username: str):
    found = db.first_or_404(select(User).where(User.username_key == username.lower()))
    if not services.has_published(found):
        # Only people who have published have a page: one for every username would tell
        # anyone who has an account (and 404 vs 200 is all it takes).
        abort(404)
    return render_list(
        services.by_author(found),
        heading=f"Posts by {found.name}",
        author=found,
    )


@bp.get("/archive/<int:year>/<int:month>")
@public_page
def archive(year: int, month: int):
    heading = f"{services.month_name(month)} {year}" if 1 <= month <= 12 else ""
    return render_list(services.in_month(year, month), heading=f"Archive: {heading}")


@bp.get("/uploads/<name>")
def upload(name: str):
    """Uploaded images, under their random names; nosniff is set on every response."""
    response = send_from_directory(current_app.config["UPLOAD_DIR"], name, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
