"""Old WordPress permalinks, answered with a 301 to the imported post's address."""

from flask import abort, redirect

from ..inputs import EARLIEST, LATEST
from . import bp, redirects

YEAR = f"int(min={EARLIEST.year}, max={LATEST.year})"


@bp.get(f"/<{YEAR}:year>/<int(min=1, max=12):month>/<int(min=1, max=31):day>/<slug>/")
def dated_permalink(year: int, month: int, day: int, slug: str):
    post = redirects.post_for_permalink(year, month, day, slug)
    if post is None:
        abort(404)
    return redirect(redirects.address(post), 301)
