"""Where you are signed in, two-factor sign-in and passkeys: /account/sessions, /account/security.

Also the sign-in steps that come after (or instead of) the password: /auth/two-factor and
/auth/passkey, attached to the auth blueprint.
"""

from __future__ import annotations

import base64

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from ..comments.moderation import truncate_ip
from ..extensions import db, limiter
from ..forms import ButtonForm, form_status
from ..models import User
from ..permissions import member_required
from . import bp as auth_bp
from . import mails, passkeys, sessions, signin, twofactor
from .forms import LoginForm
from .security_forms import (
    CodeForm,
    EnrolForm,
    PasskeyAddForm,
    PasskeySignInForm,
    PasswordConfirmForm,
)
from .views import SIGNIN_LIMIT, SUSPENDED_SIGNIN, _limit, post_limit, signed_in

bp = Blueprint("account_security", __name__)

REGISTER_CHALLENGE = "passkey_register_challenge"
SIGNIN_CHALLENGE = "passkey_signin_challenge"
NO_STORE = {"Cache-Control": "no-store"}


def _user() -> User:
    return current_user._get_current_object()


# --- /account/sessions ---------------------------------------------------------------------


@bp.get("/sessions", endpoint="sessions")
@member_required
def sessions_page():
    return _render_sessions()


def _render_sessions(status: int = 200):
    record = signin.current_record()
    return (
        render_template(
            "account_security/sessions.html",
            records=sessions.active(_user()),
            current_id=record.id if record else None,
            describe=sessions.describe_browser,
            form=ButtonForm(),
        ),
        status,
    )


@bp.post("/sessions/<int:session_id>/end")
@member_required
def end_session(session_id: int):
    if not ButtonForm().validate_on_submit():
        return _render_sessions(400)
    record = signin.current_record()
    if record is not None and record.id == session_id:
        signin.sign_out()
        flash("You are signed out.")
        return redirect(url_for("auth.login"))
    if not sessions.end(_user(), session_id):
        abort(404)
    flash("That session was ended: that browser is signed out.")
    return redirect(url_for("account_security.sessions"))


@bp.post("/sessions/end-others")
@member_required
def end_other_sessions():
    if not ButtonForm().validate_on_submit():
        return _render_sessions(400)
    record = signin.current_record()
    count = sessions.end_all(_user(), keep=record.id if record else None)
    flash(f"Signed out everywhere else ({count} session{'s' if count != 1 else ''} ended).")
    return redirect(url_for("account_security.sessions"))


@bp.route("/sessions/end/<token>", methods=["GET", "POST"])
def end_from_email(token: str):
    """From a security email: a page with a button; only the POST ends the session."""
    found = mails.read_end_session_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None:
        return render_template("auth/link_invalid.html", what="end-session"), 400
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template("account_security/end_from_email.html", form=form)
    sessions.end(user, found[1])
    if found[2] is not None and passkeys.revoke(user, found[2]):
        flash("The passkey added from there was removed, and what it signed in to was ended.")
    flash("That session was ended. If it wasn't you, change your password now.")
    return redirect(url_for("auth.reset_request"))


# --- /account/security: two-factor and passkeys -------------------------------------------------


@bp.get("/security")
@member_required
def security():
    return _render_security()


def _render_security(status: int = 200, **forms):
    user = _user()
    return (
        render_template(
            "account_security/security.html",
            totp_on=twofactor.is_enabled(user),
            codes_left=twofactor.recovery_codes_left(user),
            required=twofactor.required_for(user),
            keys=passkeys.passkeys_of(user),
            button=ButtonForm(),
            confirm_form=forms.get("confirm_form") or PasswordConfirmForm(),
            passkey_form=forms.get("passkey_form") or PasskeyAddForm(),
        ),
        status,
    )


@bp.post("/security/totp/start")
@member_required
def totp_start():
    if not ButtonForm().validate_on_submit():
        return _render_security(400)
    if twofactor.is_enabled(_user()):
        flash("Two-factor sign-in is already on.")
        return redirect(url_for("account_security.security"))
    twofactor.start_enrolment(_user())
    return redirect(url_for("account_security.totp_enrol"))


@bp.route("/security/totp", methods=["GET", "POST"])
@member_required
@post_limit("RATELIMIT_TWO_FACTOR", "10 per minute;60 per hour")
def totp_enrol():
    user = _user()
    secret = twofactor.pending_secret(user)
    if secret is None:
        return redirect(url_for("account_security.security"))
    form = EnrolForm()
    if form.validate_on_submit():
        codes = twofactor.finish_enrolment(user, form.code.data)
        if codes is not None:
            flash("Two-factor sign-in is on.")
            return (
                render_template("account_security/recovery_codes.html", codes=codes),
                200,
                NO_STORE,
            )
        form.code.errors.append("That code doesn't match. Check your app's clock and try again.")
    uri = twofactor.provisioning_uri(user, secret, current_app.config["BLOG_TITLE"])
    svg = twofactor.qr_svg(uri).split("?>", 1)[-1]  # the XML declaration can't sit in HTML
    return (
        render_template(
            "account_security/totp_enrol.html",
            form=form,
            secret=secret,
            spaced=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=Markup(svg),  # nosec B704 - qrcode made it from our own URI: a <path>
        ),
        form_status(),
        NO_STORE,
    )


def _password_confirmed(form: PasswordConfirmForm) -> bool:
    if not form.validate_on_submit():
        return False
    if not _user().check_password(form.current.data):
        form.current.errors.append("That isn't your password.")
        return False
    return True


@bp.post("/security/totp/disable")
@member_required
def totp_disable():
    if twofactor.required_for(_user()):  # the button is hidden too; this is the rule
        abort(403, "Your role needs two-factor sign-in, so it can't be turned off.")
    form = PasswordConfirmForm()
    if not _password_confirmed(form):
        return _render_security(400, confirm_form=form)
    user = _user()
    twofactor.disable(user)
    mails.send_security_notice(user, "twofactor_off", signin.current_record())
    flash("Two-factor sign-in is off. We emailed you about it.")
    return redirect(url_for("account_security.security"))


@bp.post("/security/recovery-codes")
@member_required
def recovery_codes():
    form = PasswordConfirmForm()
    user = _user()
    if not twofactor.is_enabled(user):
        flash("Recovery codes come with two-factor sign-in: set it up first.")
        return redirect(url_for("account_security.security"))
    if not _password_confirmed(form):
        return _render_security(400, confirm_form=form)
    codes = twofactor.new_recovery_codes(user)
    return render_template("account_security/recovery_codes.html", codes=codes), 200, NO_STORE


@bp.post("/security/passkeys/options")
@member_required
def passkey_register_options():
    options, challenge = passkeys.registration_options(_user(), signin.relying_party())
    session[REGISTER_CHALLENGE] = _b64(challenge)
    return current_app.response_class(options, mimetype="application/json", headers=NO_STORE)


@bp.post("/security/passkeys")
@member_required
def passkey_add():
    form = PasskeyAddForm()
    challenge = session.pop(REGISTER_CHALLENGE, None)
    if not form.validate_on_submit() or not challenge:
        flash("Adding a passkey needs JavaScript and a device that supports passkeys.", "error")
        return _render_security(400, passkey_form=form)
    try:
        key = passkeys.register(
            _user(), form.name.data, form.credential.data, _unb64(challenge), signin.relying_party()
        )
    except passkeys.PasskeyError as error:
        flash(str(error), "error")
        return _render_security(400, passkey_form=form)
    mails.send_security_notice(_user(), "passkey_added", signin.current_record(), passkey_id=key.id)
    flash(f"Passkey “{key.name}” added. You can sign in with it instead of your password.")
    return redirect(url_for("account_security.security"))


@bp.post("/security/passkeys/<int:passkey_id>/delete")
@member_required
def passkey_remove(passkey_id: int):
    if not ButtonForm().validate_on_submit():
        return _render_security(400)
    if not passkeys.remove(_user(), passkey_id):
        abort(404)
    flash("The passkey was removed.")
    return redirect(url_for("account_security.security"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


# --- sign-in steps: the code after the password, or a passkey instead of both ------------------


def _code_key() -> str:
    # The account and the address together: failed codes from one place slow that place
    # down without locking the owner out from anywhere else.
    data = session.get(signin.PENDING_KEY) or {}
    return f"code:{data.get('uid')}:{truncate_ip(request.remote_addr)}"


@auth_bp.route("/two-factor", methods=["GET", "POST"])
@post_limit(*SIGNIN_LIMIT)
@post_limit(
    "RATELIMIT_SIGNIN_CODE", "5 per 5 minutes;20 per hour", key_func=_code_key, scope="signin-code"
)
def two_factor():
    found = signin.pending()
    if found is None:
        return render_template("auth/link_invalid.html", what="signin"), 400
    user, data = found
    form = CodeForm()
    if form.validate_on_submit():
        kind = twofactor.verify(user, form.code.data)
        if kind is not None:
            response = signed_in(user, data.get("next"), remember=data.get("remember", False))
            if kind == "recovery":
                left = twofactor.recovery_codes_left(user)
                flash(
                    f"You used a recovery code: {left} left. Make new ones if that's few.",
                    "warning",
                )
            return response
        form.code.errors.append("That code isn't right, or was already used.")
    return render_template("auth/two_factor.html", form=form), form_status()


@auth_bp.post("/passkey/options")
@limiter.limit(_limit("RATELIMIT_PASSKEY", "30 per minute"))
def passkey_signin_options():
    options, challenge = passkeys.authentication_options(signin.relying_party())
    session[SIGNIN_CHALLENGE] = _b64(challenge)
    return current_app.response_class(options, mimetype="application/json", headers=NO_STORE)


@auth_bp.post("/passkey")
@limiter.limit(_limit("RATELIMIT_PASSKEY", "30 per minute"))
def passkey_signin():
    """A passkey instead of password and code. Failed passwords never block this door."""
    form = PasskeySignInForm()
    challenge = session.pop(SIGNIN_CHALLENGE, None)
    if not form.validate_on_submit() or not challenge:
        return _login_again("Signing in with a passkey needs JavaScript and a device with one.")
    try:
        user = passkeys.authenticate(
            form.credential.data, _unb64(challenge), signin.relying_party()
        )
    except passkeys.PasskeyError as error:
        return _login_again(str(error))
    if user is None or user.suspended:
        return _login_again(SUSPENDED_SIGNIN, 403)
    return signed_in(user, request.args.get("next"), method="passkey")


def _login_again(message: str, status: int = 400):
    flash(message, "error")
    return render_template("auth/login.html", form=LoginForm()), status
