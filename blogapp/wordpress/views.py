"""Old WordPress permalinks, answered with a 301 to the imported post's address."""

from flask import abort, redirect

from . import bp, redirects


@bp.get("/<int:year>/<int:month>/<int:day>/<slug>/")
def dated_permalink(year: int, month: int, day: int, slug: str):
    post = redirects.post_for_permalink(year, month, day, slug)
    if post is None:
        abort(404)
    return redirect(redirects.address(post), 301)
