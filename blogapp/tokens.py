"""Signed, expiring tokens for links in emails (confirm, reset, unsubscribe, moderate)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .extensions import db
from .inputs import optional_int


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a token made for one action never works for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"blogapp.{purpose}")


def created_stamp(row) -> int:
    """A row's creation time in milliseconds, for the tokens of links that act on it.

    Ids are never reused now (migration 0008), but a restore from an older backup or an
    import can still put a different row under an old id: a link bound to its row's
    creation time then finds "gone", never the successor.
    """
    return int(row.created_at.timestamp() * 1000)


def row_named(model, value):
    """The row a token's id names, or None (an id of the wrong type names no row)."""
    number = optional_int(value)
    return db.session.get(model, number) if number is not None else None


def is_same_row(row, data: dict, legacy_ok: bool = False) -> bool:
    """The row still exists and is the one the token was made for."""
    if row is None:
        return False
    if "t" not in data:
        return legacy_ok  # made before tokens carried the stamp
    return data["t"] == created_stamp(row)


def make_token(purpose: str, data: Any) -> str:
    return _serializer(purpose).dumps(data)


def read_token(purpose: str, token: str, max_age: int | None) -> Any | None:
    """The data in a valid token, or None when it is forged, for another purpose or expired."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired, UnicodeError, ValueError):
        return None
