"""/media: an author's images, uploading one (a page, or JSON for the editor), deleting."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import uploads
from ..forms import form_status
from ..permissions import author_required
from ..posts.services import paginate
from . import bp, services
from .forms import DeleteImageForm, ImageForm

PER_PAGE = 24


def wants_json() -> bool:
    """The editor's script asks for JSON; a plain form post gets a page."""
    return request.accept_mimetypes.best == "application/json"


def image_url(name: str) -> str:
    return url_for("posts.upload", name=name)


def upload_from(user, upload, alt: str):
    """Store an upload for user; returns (image, its Markdown) or raises MediaError.

    Shared with the post editor's "Upload image" button (posts/authoring.py).
    """
    image = services.add_image(
        user,
        upload,
        alt,
        current_app.config["UPLOAD_DIR"],
        current_app.config["UPLOAD_MAX_BYTES"],
    )
    return image, services.markdown_for(image.alt, image_url(image.name))


@bp.route("/media", methods=["GET", "POST"])
@author_required
def library():
    form = ImageForm()
    status = 200
    if request.method == "POST":
        try:
            image, markdown = upload_from(current_user, form.image.data, form.alt.data or "")
        except services.MediaError as refusal:
            if wants_json():
                return jsonify(error=str(refusal)), 400
            form.image.errors = [str(refusal)]
            status = 400
        else:
            if wants_json():
                return jsonify(markdown=markdown, url=image_url(image.name), alt=image.alt), 201
            flash(f"Image uploaded. Markdown to show it: {markdown}")
            return redirect(url_for("media.library", _anchor=f"image-{image.id}"))
    return render_library(form), status


def render_library(form: ImageForm) -> str:
    pagination = paginate(
        services.library_query(current_user), request.args.get("page", 1, type=int), PER_PAGE
    )
    images = pagination.items
    return render_template(
        "media/library.html",
        form=form,
        pagination=pagination,
        images=images,
        uses=services.uses(images),
        markdown={i.id: services.markdown_for(i.alt, image_url(i.name)) for i in images},
    )


def manageable_image(image_id: int):
    image = services.get_image(image_id)
    if image is None:
        abort(404)
    if not services.can_manage(current_user, image):
        abort(403)
    return image


@bp.route("/media/<int:image_id>/delete", methods=["GET", "POST"])
@author_required
def delete(image_id: int):
    """GET asks first (saying where the image is used); only the POST deletes."""
    image = manageable_image(image_id)
    form = DeleteImageForm()
    used_in = services.uses([image])[image.id]
    if request.method == "POST" and form.validate_on_submit():
        if used_in and not form.in_use_ok.data:
            form.in_use_ok.errors = ["This image is in use: tick the box to delete it anyway."]
            return render_template(
                "media/delete.html", image=image, form=form, used_in=used_in
            ), 400
        uploads.delete_image(services.delete(image), current_app.config["UPLOAD_DIR"])
        flash("The image was deleted.")
        return redirect(url_for("media.library"))
    return render_template(
        "media/delete.html", image=image, form=form, used_in=used_in
    ), form_status()
