"""Feeds, sitemap, robots.txt and search: thin views over feeds, sitemap and search."""

from flask import Response, abort, render_template, request
from sqlalchemy import select

from ..cache import public_page
from ..extensions import db
from ..models import Category
from ..posts import services as post_services
from ..posts.views import requested_page
from . import bp, feeds, metadata, search, sitemap


@bp.app_context_processor
def discovery_globals():
    return {
        "canonical_url": metadata.canonical_url,
        "noindex": metadata.noindex,
        "cover_url": metadata.cover_url,
        "post_jsonld": metadata.post_jsonld,
    }


@bp.after_app_request
def robots_header(response: Response) -> Response:
    """Private pages say noindex in a header too, which covers non-HTML answers."""
    if metadata.noindex():
        response.headers.setdefault("X-Robots-Tag", "noindex")
    return response


def atom(xml: str) -> Response:
    return Response(xml, mimetype=feeds.ATOM_MIMETYPE)


@bp.get("/feed.xml")
@public_page
def feed():
    return atom(feeds.site_feed())


@bp.get("/category/<slug>/feed.xml")
@public_page
def category_feed(slug: str):
    category = db.first_or_404(select(Category).where(Category.slug == slug))
    return atom(feeds.category_feed(category))


@bp.get("/posts/<slug>/comments/feed.xml")
@public_page
def comments_feed(slug: str):
    post = post_services.get_visible_post(slug)
    if post is None:
        abort(404)
    return atom(feeds.comments_feed(post))


@bp.get("/sitemap.xml")
@public_page
def sitemap_xml():
    xml = render_template("discovery/sitemap.xml", urls=sitemap.sitemap_urls())
    return Response(xml, mimetype="application/xml")


@bp.get("/robots.txt")
@public_page
def robots_txt():
    text = render_template("discovery/robots.txt", disallow=sitemap.robots_lines())
    return Response(text, mimetype="text/plain")


@bp.get("/search", endpoint="search")
@public_page
def search_page():
    query = request.args.get("q", "", type=str)
    results = search.search_posts(query, requested_page())
    return render_template("discovery/search.html", query=query, results=results)
