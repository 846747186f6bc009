"""Writing through web forms: new, edit, preview, schedule, publish, unpublish, delete, dashboard.

Nothing an author types is lost: a form error, an expired CSRF token or an expired session
brings the form back with every field as typed (after signing in again where needed).
"""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .. import errors, uploads
from ..auth import signin, twofactor
from ..auth.services import authenticate
from ..errors import render_error
from ..extensions import limiter
from ..forms import ButtonForm
from ..inputs import optional_int, page_number
from ..models import PostStatus, Role, utcnow
from ..permissions import author_required, has_role
from ..templating import format_datetime
from . import authoring_services as services
from . import bp, review, revisions
from .forms import PostForm
from .services import paginate, table_of_contents

WRITING_ENDPOINTS = {"posts.new", "posts.edit"}
# Form fields that are not part of the draft and never ride along in hidden fields.
NOT_DRAFT = {
    "csrf_token",
    "login",
    "password",
    "resume",
    "save_draft",
    "submit_review",
    "preview",
    "schedule",
    "publish",
    "cover",
    "inline_image",
    "inline_alt",
    "upload_image",
}


class SignInAgainForm(FlaskForm):
    login = StringField("Email or username", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    resume = SubmitField("Sign in and keep writing")


@bp.app_template_filter("srcset")
def cover_srcset(name: str | None) -> str:
    return uploads.srcset(name, lambda n: url_for("posts.upload", name=n))


@bp.app_template_filter("image_size")
def image_size(name: str | None) -> tuple[int, int] | None:
    """(width, height) of a stored upload, for <img width height>; None when unknown."""
    return uploads.dimensions(name, current_app.config["UPLOAD_DIR"])


@bp.app_template_filter("image_sources")
def image_sources(name: str | None) -> list[tuple[str, str]]:
    """(type, srcset) of a stored image's AVIF/WebP copies, for <source> in <picture>."""
    return uploads.sources(name, lambda n: url_for("posts.upload", name=n))


def writer_view(view):
    """author_required, except that a signed-out POST keeps its draft and asks to sign in again."""
    checked = author_required(view)

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method == "POST" and not current_user.is_authenticated:
            return sign_in_again()
        return checked(*args, **kwargs)

    return wrapped


def _signed_out() -> bool:
    return not current_user.is_authenticated


@bp.route("/posts/new", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], exempt_when=lambda: not _signed_out())
@writer_view
def new():
    return write(None)


@bp.route("/posts/<slug>/edit", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], exempt_when=lambda: not _signed_out())
@writer_view
def edit(slug: str):
    return write(_editable_post(slug))


@bp.post("/posts/preview")
@author_required
def live_preview():
    """The article as readers will see it, for the side-by-side preview (static/js/preview.js)."""
    form = _post_form()
    form.validate()
    post = services.preview(None, _draft(form), current_user)
    return render_template(
        "posts/_article.html", post=post, toc=_toc(post), title_id="live-preview-title"
    )


@bp.get("/posts/<slug>/delete")
@author_required
def confirm_delete(slug: str):
    return render_template("posts/delete.html", post=_editable_post(slug), form=ButtonForm())


@bp.post("/posts/<slug>/delete")
@author_required
def delete(slug: str):
    post = _editable_post(slug)
    title = post.title
    cover = services.delete(post, current_user)
    if cover and services.get_post_with_cover(cover) is None:
        uploads.delete_image(cover, current_app.config["UPLOAD_DIR"])
    flash(f"“{title}” was deleted.")
    return redirect(url_for("posts.dashboard"))


@bp.post("/posts/<slug>/unpublish")
@author_required
def unpublish(slug: str):
    post = _editable_post(slug)
    services.unpublish(post, current_user)
    flash(f"“{post.title}” is a draft again; readers no longer see it.")
    return redirect(url_for("posts.dashboard"))


@bp.get("/dashboard")
@author_required
def dashboard():
    pagination = paginate(
        services.dashboard_query(current_user), request.args.get("page", 1, type=page_number), 25
    )
    return render_template(
        "posts/dashboard.html",
        pagination=pagination,
        posts=pagination.items,
        pending=services.pending_counts(pagination.items),
        due=review.due(current_user),
        review_labels={status.value: status.label for status in services.ReviewStatus},
        now=utcnow(),
    )


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """An expired or missing token on the post form: the form comes back as typed."""
    if request.endpoint not in WRITING_ENDPOINTS:
        return errors.csrf_failed(error)
    try:
        return _form_after_csrf_failure()
    except HTTPException as refusal:  # raised inside an error handler: answer it here
        return render_error(refusal.code or 400, refusal.description)


def _form_after_csrf_failure():
    if _signed_out():
        return sign_in_again()
    post = _editable_post(request.view_args["slug"]) if request.endpoint == "posts.edit" else None
    message = "Your form had expired, so nothing was saved. Check it and press the button again."
    if request.files.get("cover"):
        message += " Choose the cover image again."
    flash(message, "error")
    return _render_form(_post_form(), post, status=400)


def sign_in_again():
    """A signed-out POST to the post form: sign in here; the draft rides along in hidden fields."""
    form = SignInAgainForm()
    kept = [(k, v) for k, v in request.form.items(multi=True) if k not in NOT_DRAFT]
    if form.resume.data and form.validate():
        user = authenticate(form.login.data, form.password.data)
        if user is not None and not user.suspended and twofactor.is_enabled(user):
            # The password alone isn't enough for this account: the full sign-in, elsewhere.
            form.password.errors.append(
                "Your account uses two-factor sign-in: sign in on the sign-in page in another "
                "tab, then press the button here again."
            )
            return render_template("posts/sign_in_again.html", form=form, kept=kept), 401
        if user is not None and not user.suspended:
            signin.sign_in(user)  # a fresh session, as on the sign-in page
            if not has_role(user, Role.AUTHOR):
                abort(403)
            slug = (request.view_args or {}).get("slug")
            post = _editable_post(slug) if slug else None
            flash("You are signed in again and your draft is back. Nothing has been saved yet.")
            return _render_form(_post_form(), post)
        form.password.errors.append("That email/username and password don't match an account.")
    return render_template("posts/sign_in_again.html", form=form, kept=kept), 401


def write(post):
    """The post form for a new (post=None) or existing post, and what its buttons do."""
    if request.method == "GET":
        return _render_form(_post_form(data=_initial(post)), post)
    form = _post_form()
    if form.upload_image.data:
        return _insert_image(form, post)
    valid = form.validate()
    _take_upload(form)  # kept even when another field needs fixing
    valid = _check_choices(form) and valid and not form.cover.errors
    if not valid:
        return _render_form(form, post, status=400)
    draft = _draft(form)
    if form.action == "preview":
        shown = services.preview(post, draft, current_user)
        return _render_form(form, post, preview=shown)
    when = _when(form)
    try:
        saved = services.save(post, draft, current_user, form.action, when)
    except services.SlugTaken:
        form.slug.errors.append("Another post already has this slug. Choose another.")
        return _render_form(form, post, status=400)
    except services.ReviewRequired as refusal:
        # Refused on the server whatever the page showed; what they typed stays in the form.
        flash(f"Not published: {refusal}", "error")
        return _render_form(form, post, status=403)
    flash(_saved_message(saved))
    return redirect(url_for("posts.edit", slug=saved.slug))


def _insert_image(form: PostForm, post):
    """ "Upload image" without JavaScript: store it, then show its Markdown to copy.

    Nothing is saved or checked but the image: the form comes back as typed.
    """
    # Imported here: the media blueprint's modules import posts' services.
    from ..media.services import MediaError
    from ..media.views import upload_from

    _take_upload(form)
    try:
        _image, markdown = upload_from(current_user, form.inline_image.data, form.inline_alt.data)
    except MediaError as refusal:
        form.inline_image.errors = [str(refusal)]
        return _render_form(form, post, status=400)
    form.inline_alt.data = ""
    return _render_form(form, post, inserted_markdown=markdown)


def _editable_post(slug: str):
    post = services.get_post(slug)
    if post is None:
        abort(404)
    if not current_user.can_edit_post(post):
        abort(403)
    return post


def _post_form(**kwargs) -> PostForm:
    form = PostForm(**kwargs)
    form.set_categories(services.categories())
    return form


def _render_form(form: PostForm, post, status: int = 200, preview=None, inserted_markdown=""):
    timezone = current_app.config["BLOG_TIMEZONE"]
    html = render_template(
        "posts/form.html",
        form=form,
        post=post,
        review_state=_review_state(post),
        preview=preview,
        inserted_markdown=inserted_markdown,
        toc=_toc(preview) if preview is not None else [],
        timezone=timezone,
        slug_locked=post is not None and services.slug_is_locked(post),
    )
    return html, status


def _review_state(post) -> dict:
    """What the form says about clinical review: needed, waiting, the reviewer's last note."""
    if post is None:
        return {"needed": False}
    status = post.review_status
    return {
        "needed": review.needs_review(post),
        "waits": review.guards_live_text(post),
        "status": status and services.ReviewStatus(status).label,
        "pending": post.live_revision_id != getattr(revisions.latest(post), "id", None),
        "decision": review.latest_decision(post),
        "editor": current_user.is_editor,
    }


def _toc(post) -> list[dict]:
    return table_of_contents(post)


def _initial(post) -> dict:
    if post is None:
        return {}
    timezone = current_app.config["BLOG_TIMEZONE"]
    text = revisions.working_copy(post)  # may be newer than the live text, waiting for review
    return {
        "kind": post.kind,
        "title": text.title,
        "slug": post.slug,
        "body": text.body,
        "excerpt": text.excerpt,
        "category": str(post.category_id or ""),
        "tags": ", ".join(tag.name for tag in post.tags),
        "cover_image": post.cover_image or "",
        "cover_alt": post.cover_alt,
        "publish_at": services.to_local(post.published_at, timezone)
        if post.status == PostStatus.SCHEDULED
        else None,
    }


def _take_upload(form: PostForm) -> None:
    """Store a chosen cover image, or put the reason it was refused beside the field."""
    if form.remove_cover.data:
        form.cover_image.data = ""
    upload = form.cover.data
    if not upload or not getattr(upload, "filename", ""):
        return
    try:
        form.cover_image.data = uploads.save_image(
            upload.stream, current_app.config["UPLOAD_DIR"], current_app.config["UPLOAD_MAX_BYTES"]
        )
        form.remove_cover.data = False
    except uploads.UploadError as refusal:
        form.cover.errors = [str(refusal)]


def _check_choices(form: PostForm) -> bool:
    """Rules that span fields: alt text for a cover, a future time to schedule."""
    ok = True
    if form.cover_image.data and not (form.cover_alt.data or "").strip():
        form.cover_alt.errors = [
            *form.cover_alt.errors,
            "Describe the cover image for people who can't see it.",
        ]
        ok = False
    if form.action == "schedule":
        when = _when(form)
        if form.publish_at.errors:
            ok = False  # already says what is wrong (e.g. a date out of range)
        elif when is None:
            form.publish_at.errors = [
                *form.publish_at.errors,
                "Choose the date and time to publish.",
            ]
            ok = False
        elif when <= utcnow():
            form.publish_at.errors = [
                *form.publish_at.errors,
                "Choose a time in the future, or press Publish to publish now.",
            ]
            ok = False
    return ok


def _when(form: PostForm):
    if form.publish_at.data is None or form.publish_at.errors:
        return None
    return services.to_utc(form.publish_at.data, current_app.config["BLOG_TIMEZONE"])


def _draft(form: PostForm) -> services.Draft:
    return services.Draft(
        kind=form.kind.data if form.kind.data in ("post", "page") else "post",
        title=form.title.data or "",
        body=form.body.data or "",
        slug=form.slug.data or "",
        excerpt=form.excerpt.data or "",
        category_id=optional_int(form.category.data),
        tag_names=form.tag_names(),
        cover_image=form.cover_image.data or None,
        cover_alt=form.cover_alt.data or "",
        change_note=form.change_note.data or "",
        note_public=bool(form.note_public.data),
        fix=bool(form.fix.data),
    )


def _saved_message(post) -> str:
    noun = "Page" if post.kind == "page" else "Post"
    if post.review_status == services.ReviewStatus.IN_REVIEW:
        return "Submitted for review. A clinical reviewer will approve it or ask for changes."
    if review.guards_live_text(post) and post.live_revision_id != revisions.latest(post).id:
        return "Changes saved. The approved version stays live until these are approved."
    if post.status == PostStatus.PUBLISHED:
        return f"{noun} published."
    if post.status == PostStatus.SCHEDULED:
        return f"{noun} scheduled for {format_datetime(post.published_at)}."
    return "Draft saved."
