"""Admin: categories. Add, rename and delete them (posts in a deleted one keep no category)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import audit
from ..errors import form_again_on_csrf_failure
from ..extensions import db
from ..forms import ButtonForm
from ..markup import render_description, slugify
from ..models import Category, Post
from ..permissions import admin_required
from ..posts import review
from . import bp


class CategoryForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Give the category a name."), Length(max=80)]
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Add category")


class ReviewForm(FlaskForm):
    needs_review = BooleanField("Needs clinical review")
    review_months = IntegerField(
        "Review every (months)",
        validators=[DataRequired("Give the months between reviews."), NumberRange(1, 120)],
    )


class RenameForm(FlaskForm):
    name = StringField(
        "New name", validators=[DataRequired("Give the category a name."), Length(max=80)]
    )
    submit = SubmitField("Rename")


@bp.get("/categories")
@admin_required
def categories():
    return _page(CategoryForm())


@bp.post("/categories")
@form_again_on_csrf_failure
@admin_required
def add_category():
    form = CategoryForm()
    if not form.validate():
        return _page(form, status=400)
    category, problem = create_category(
        form.name.data, form.description.data or "", actor=current_user
    )
    if problem:
        form.name.errors.append(problem)
        return _page(form, status=400)
    flash(f"Category “{category.name}” added.")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/rename")
@form_again_on_csrf_failure
@admin_required
def rename_category(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = RenameForm(prefix=f"c{category_id}")
    if not form.validate():
        return _page(CategoryForm(formdata=None), renaming=(category_id, form), status=400)
    old = category.name
    category.name = " ".join(form.name.data.split())
    audit.record(current_user, audit.Action.CATEGORY_CHANGE, category, f"renamed from {old}")
    db.session.commit()
    flash(f"“{old}” is now “{category.name}”; its address stays the same.")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/delete")
@admin_required
def delete_category(category_id: int):
    category = db.get_or_404(Category, category_id)
    if not ButtonForm().validate():
        abort(400)
    name = category.name
    audit.record(current_user, audit.Action.CATEGORY_CHANGE, category, "deleted")
    db.session.delete(category)
    db.session.commit()
    flash(f"Category “{name}” deleted; its posts now have no category.")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/review")
@admin_required
def category_review(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = ReviewForm(prefix=f"r{category_id}")
    if not form.validate():
        flash(
            "Review settings not saved: " + " ".join(form.review_months.errors or ["try again."]),
            "error",
        )
        return redirect(url_for("admin.categories"))
    set_review(category, form.needs_review.data, form.review_months.data, current_user)
    flash(f"Review settings of “{category.name}” saved.")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/overdue-note")
@admin_required
def overdue_note():
    if not ButtonForm().validate():
        abort(400)
    enabled = request.form.get("enabled") == "1"
    review.set_overdue_note(enabled, current_user)
    flash(
        "Readers now see a note on posts overdue for review."
        if enabled
        else "Readers no longer see the overdue-review note."
    )
    return redirect(url_for("admin.categories"))


def set_review(category: Category, needs: bool, months: int, actor) -> None:
    category.needs_review, category.review_months = bool(needs), months
    audit.record(
        actor,
        audit.Action.CATEGORY_CHANGE,
        category,
        f"needs review: {'yes' if needs else 'no'}, every {months} months",
    )
    db.session.commit()


def create_category(name: str, description: str = "", actor=None) -> tuple[Category | None, str]:
    """A new category, or the reason it can't be made (its address is taken)."""
    name = " ".join(name.split())
    slug = slugify(name)
    if not slug:
        return None, "Use at least one letter or digit in the name."
    if db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        return None, "A category with this name already exists."
    description = description.strip()
    category = Category(
        name=name,
        slug=slug,
        description=description,
        description_html=render_description(description),
    )
    db.session.add(category)
    audit.record(actor, audit.Action.CATEGORY_CHANGE, category, "added", label=name)
    db.session.commit()
    return category, ""


def categories_with_counts() -> list[tuple[Category, int]]:
    """Every category with how many posts it holds, in one query."""
    counts = select(Post.category_id, func.count().label("n")).group_by(Post.category_id).subquery()
    rows = db.session.execute(
        select(Category, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.category_id == Category.id)
        .order_by(Category.name)
    )
    return [(category, n) for category, n in rows]


def _page(form: CategoryForm, renaming=None, status: int = 200):
    rows = []
    for category, count in categories_with_counts():
        if renaming and renaming[0] == category.id:
            rename = renaming[1]
        else:
            rename = RenameForm(
                prefix=f"c{category.id}", formdata=None, data={"name": category.name}
            )
        settings = ReviewForm(
            prefix=f"r{category.id}",
            formdata=None,
            data={"needs_review": category.needs_review, "review_months": category.review_months},
        )
        rows.append((category, count, rename, settings))
    return render_template(
        "admin/categories.html",
        form=form,
        rows=rows,
        overdue_note=review.overdue_note_enabled(),
    ), status
