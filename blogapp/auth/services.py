"""Members: loading the signed-in user, checking credentials."""

from __future__ import annotations

from sqlalchemy import or_, select

from ..extensions import db, login_manager
from ..models import User

# Checked against when no account matches, so a miss costs as long as a wrong password.
_DUMMY_HASH = None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Session ids are "id:version"; a bumped version (password change, suspension) logs out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or user.suspended:
        return None
    return user


def find_by_login(login: str) -> User | None:
    key = login.strip().lower()
    return db.session.scalar(select(User).where(or_(User.email_key == key, User.username_key == key)))


def authenticate(login: str, password: str) -> User | None:
    """The user when login and password match, else None, taking the same time either way."""
    global _DUMMY_HASH
    user = find_by_login(login)
    if user is None or not user.password_hash:
        if _DUMMY_HASH is None:
            dummy = User()
            dummy.set_password("not a real password, only for timing")
            _DUMMY_HASH = dummy
        _DUMMY_HASH.check_password(password)
        return None
    return user if user.check_password(password) else None
