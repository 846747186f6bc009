"""The per-account sign-in limit: failures count against the account, not the typed name.

Two counters, in the rate limiter's storage (Redis when set, so every process agrees):
failed sign-ins for an account from anywhere (username and email are one bucket: the
account's id), and whether a given address has failed for it. Once the account's
failures pass RATELIMIT_SIGNIN_ACCOUNT, only addresses that have failed for it are held
back: someone guessing from other addresses can't lock the owner out of an address that
has never failed, and each new address an attacker brings still gets just one try.
The per-address limit (RATELIMIT_SIGNIN, a decorator on the view) stays as it was.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse

from ..extensions import limiter
from ..models import User

DEFAULT = "20 per hour"


def account_key(user: User | None, login: str) -> str:
    """The bucket for a sign-in: the account when there is one, else the name as typed."""
    if user is not None:
        return f"user:{user.id}"
    return "name:" + (login or "").strip().lower()[:254]


def _limits():
    account = parse(current_app.config.get("RATELIMIT_SIGNIN_ACCOUNT", DEFAULT))
    # "Has this address failed for this account" lives as long as the account's window.
    marker = parse(f"1 per {account.get_expiry()} second")
    return account, marker


def held_back(key: str, address: str) -> int | None:
    """Seconds to wait when this address may not try this account now; None when it may."""
    if not limiter.enabled:
        return None
    strategy = limiter.limiter
    account, marker = _limits()
    if strategy.test(account, "signin-account", key):
        return None  # the account is under its limit: anyone may try
    if strategy.test(marker, "signin-failed-from", key, address):
        return None  # this address never failed for the account: the owner, perhaps
    reset, _ = strategy.get_window_stats(account, "signin-account", key)
    return max(1, math.ceil(reset - time.time()))


def failed(key: str, address: str) -> None:
    """Count a failed sign-in against the account and mark the address as having failed."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    account, marker = _limits()
    strategy.hit(account, "signin-account", key)
    strategy.hit(marker, "signin-failed-from", key, address)
