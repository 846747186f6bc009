"""The member's own account: profile, email, password, download my data, delete."""

from __future__ import annotations

import json

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from .. import uploads
from ..auth import mails, services, signin
from ..auth.forms import (
    DeleteAccountForm,
    EmailChangeForm,
    PasswordChangeForm,
    ProfileForm,
)
from ..errors import form_again_on_csrf_failure
from ..forms import ButtonForm, form_status
from ..permissions import member_required
from . import bp


@bp.route("", methods=["GET", "POST"])
@form_again_on_csrf_failure
@member_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        avatar = _new_avatar(form)
        if not form.avatar.errors:
            replaced = services.update_profile(
                current_user,
                form.display_name.data,
                form.bio.data,
                credentials=form.credentials.data or "",
                avatar=avatar,
            )
            uploads.delete_image(replaced, current_app.config["UPLOAD_DIR"])
            flash("Your profile was saved.")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form, resend=ButtonForm()), form_status()


AVATAR_SIZE = 256  # pixels square: twice the largest it shows, for sharp screens


def _new_avatar(form: ProfileForm):
    """A stored name for a chosen avatar, None to remove it, False to keep what there is."""
    upload = form.avatar.data
    if upload and getattr(upload, "filename", ""):
        try:
            return uploads.store_image(
                upload.stream,
                current_app.config["UPLOAD_DIR"],
                current_app.config["UPLOAD_MAX_BYTES"],
                square=AVATAR_SIZE,
            ).name
        except uploads.UploadError as refusal:
            form.avatar.errors = [str(refusal)]
            return False
    return None if form.remove_avatar.data else False


@bp.route("/password", methods=["GET", "POST"])
@member_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("That isn't your current password.")
            return render_template("account/password.html", form=form), 400
        user = current_user._get_current_object()
        services.set_new_password(user, form.password.data)
        # Every other session (and remember-me cookie) just ended; this one continues, renewed.
        signin.renew_after_password_change(user)
        mails.send_security_notice(user, "password_changed", signin.current_record())
        flash("Your password was changed. You were signed out everywhere else.")
        return redirect(url_for("account.profile"))
    return render_template("account/password.html", form=form), form_status()


@bp.route("/email", methods=["GET", "POST"])
@member_required
def email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("That isn't your current password.")
            return render_template("account/email.html", form=form), 400
        if form.email.data.lower() == current_user.email_key:
            form.email.errors.append("That is already your email address.")
            return render_template("account/email.html", form=form), 400
        mails.send_email_change(current_user, form.email.data)
        flash(f"We sent a link to {form.email.data}: your address changes once you confirm it.")
        return redirect(url_for("account.profile"))
    return render_template("account/email.html", form=form), form_status()


@bp.get("/export")
@member_required
def export():
    data = json.dumps(services.export_data(current_user), indent=2, ensure_ascii=False)
    filename = f"{current_user.username}-data.json"
    return Response(
        data,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/delete", methods=["GET", "POST"])
@member_required
def delete():
    form = DeleteAccountForm()
    problem = services.deletion_problem(current_user, lock=request.method == "POST")
    if problem or not form.validate_on_submit():
        if problem:
            flash(problem, "error")
        status = 409 if problem and request.method == "POST" else form_status()
        return render_template("account/delete.html", form=form, problem=problem), status
    if not current_user.check_password(form.current.data):
        form.current.errors.append("That isn't your password.")
        return render_template("account/delete.html", form=form, problem=None), 400
    user = current_user._get_current_object()
    logout_user()
    session.clear()
    for name in services.delete_account(user):
        uploads.delete_image(name, current_app.config["UPLOAD_DIR"])
    flash("Your account was deleted. Your comments stay, shown as by a former member.")
    return redirect(url_for("posts.index"))
