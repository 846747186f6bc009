"""Accounts: creating users, and the username, email and password rules they obey."""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from ..extensions import db
from ..models import Role, User, utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_-]{3,30}$")
PASSWORD_MIN = 12
PASSWORD_MAX = 256  # NIST asks for at least 64; we take any Unicode up to this
COMMON_PASSWORDS = Path(__file__).parent.parent / "data" / "common-passwords.txt.gz"


class AccountError(ValueError):
    """A value a person typed breaks an account rule; the message says which and why."""


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def username_problem(username: str) -> str | None:
    if not USERNAME.match(username or ""):
        return "Use 3 to 30 letters, digits, hyphens or underscores."
    return None


def normalize_email(email: str) -> str:
    """The canonical form of an address, or AccountError saying what is wrong with it."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise AccountError(str(error)) from None


def password_problem(password: str, *context: str) -> str | None:
    """NIST SP 800-63B: length, no composition rules, not a common or obvious password."""
    password = unicodedata.normalize("NFKC", password or "")
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "That password is too common; choose another."
    if any(lowered == c.lower() for c in context if c):
        return "Don't use your username or email as a password."
    return None


def username_taken(username: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(User.username_key == username.lower())) is not None
    )


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email_key == email.lower())) is not None


def create_user(
    username: str,
    email: str,
    password: str,
    role: str = Role.MEMBER,
    confirmed: bool = False,
    commit: bool = True,
) -> User:
    """Check the rules, then create and commit the user (or only flush it: commit=False)."""
    if problem := username_problem(username):
        raise AccountError(f"Username: {problem}")
    email = normalize_email(email)
    if problem := password_problem(password, username, email):
        raise AccountError(f"Password: {problem}")
    if username_taken(username):
        raise AccountError("That username is taken.")
    if email_taken(email):
        raise AccountError("That email already has an account.")
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
        role=Role(role),
        confirmed_at=utcnow() if confirmed else None,
    )
    user.set_password(password)
    db.session.add(user)
    if commit:
        db.session.commit()
    else:
        db.session.flush()  # the id, for the confirmation link
    return user
