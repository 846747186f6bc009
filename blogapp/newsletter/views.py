"""Subscribe, confirm, unsubscribe (one click too), and the member's own choices."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..cache import public_page, viewer_part
from ..extensions import csrf, limiter
from ..forms import ButtonForm, form_status
from ..models import Frequency, SubscriberStatus
from ..permissions import member_required
from ..posts import authoring_services
from ..templating import part_macro, rendered_once
from . import bp, services
from .forms import ChoicesForm, SubscribeForm

SENT = (
    "Thank you. If {email} can get new posts from us, a message is on its way to it: "
    "open its link to confirm. Nothing is sent until you do."
)


def _limit():
    return current_app.config.get("RATELIMIT_SUBSCRIBE", "5 per minute;30 per day")


def _form(form_class, **kwargs):
    form = form_class(**kwargs)
    form.set_categories(authoring_services.categories())
    return form


@bp.route("/subscribe", methods=["GET", "POST"])
@public_page
# No CSRF token: this POST acts on no one's session or account (anyone may send it for any
# address, and the address must confirm by mail; at most one mail an hour goes to it, and
# the route is rate limited). So the form on the home page and every post stays the same
# bytes for every reader: no session cookie and no per-visitor ETag just for showing it.
@csrf.exempt
@limiter.limit(_limit, methods=["POST"])
def subscribe():
    form = _form(SubscribeForm)
    if not form.validate_on_submit():
        return render_template("newsletter/subscribe.html", form=form), form_status()
    services.subscribe(form.email.data, form.choices())
    # The same words whether the address was new, waiting, subscribed or capped.
    flash(SENT.format(email=form.email.data))
    return redirect(url_for("newsletter.subscribe"))


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    subscriber = services.read_confirm_token(token)
    if subscriber is None or subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        return render_template("auth/link_invalid.html", what="newsletter"), 400
    form = ButtonForm()
    if not form.validate_on_submit():
        # Mail scanners fetch links: a GET only shows the button; the POST confirms.
        return render_template("newsletter/confirm.html", form=form, subscriber=subscriber)
    services.confirm(subscriber)
    return render_template("newsletter/confirm.html", form=form, subscriber=subscriber, done=True)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail provider POSTs with no session; the token is the key
def unsubscribe(token: str):
    subscriber = services.read_unsubscribe_token(token)
    if subscriber is None:
        return render_template("auth/link_invalid.html", what="newsletter"), 404
    if request.method == "POST":
        services.unsubscribe(subscriber)
        return render_template("newsletter/unsubscribe.html", done=True, subscriber=subscriber)
    return render_template("newsletter/unsubscribe.html", done=False, subscriber=subscriber)


@bp.route("/account/newsletter", methods=["GET", "POST"])
@member_required
def account():
    subscriber = services.find(current_user.email or "")
    subscribed = subscriber is not None and subscriber.status == SubscriberStatus.CONFIRMED
    form = _form(ChoicesForm)
    if request.method == "GET" and subscriber is not None:
        form.frequency.data = subscriber.frequency
        form.categories.data = [c.id for c in subscriber.categories]
    if not form.validate_on_submit():
        return _account_page(form, subscriber, subscribed), form_status()
    if request.form.get("action") == "unsubscribe":
        if subscribed:
            services.unsubscribe(subscriber)
        flash("You are unsubscribed: no more newsletters.")
    elif current_user.is_confirmed:
        services.subscribe_confirmed(current_user.email, form.choices())
        flash("Saved: you get " + _what(form.frequency.data) + ".")
    else:
        services.subscribe(current_user.email, form.choices())
        flash(f"We sent a link to {current_user.email}: open it to confirm your subscription.")
    return redirect(url_for("newsletter.account"))


def _what(frequency: str) -> str:
    return "every new post" if frequency == Frequency.EVERY_POST else "a weekly digest"


def _account_page(form, subscriber, subscribed):
    return render_template(
        "newsletter/account.html", form=form, subscriber=subscriber, subscribed=subscribed
    )


@viewer_part("newsletter_choice")
def newsletter_choice_part() -> str:
    """The box's inside: a member's link to their choices, or the form for everyone else."""
    signed_in = current_user.is_authenticated

    def render():
        frequencies = [(f.value, _what(f)) for f in Frequency]
        return part_macro("newsletter/_choice.html", "choice")(signed_in, frequencies)

    return rendered_once(("newsletter_choice", signed_in), render)
