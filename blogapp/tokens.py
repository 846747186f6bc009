"""Signed, expiring tokens for links in emails (confirm, reset, unsubscribe, moderate)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a token made for one action never works for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"blogapp.{purpose}")


def make_token(purpose: str, data: Any) -> str:
    return _serializer(purpose).dumps(data)


def read_token(purpose: str, token: str, max_age: int | None) -> Any | None:
    """The data in a valid token, or None when it is forged, for another purpose or expired."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired, UnicodeError, ValueError):
        return None
