"""Two-factor sign-in: an authenticator app (TOTP, RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import RecoveryCode, Role, TotpSecret, User, utcnow

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_NOT_CODE = re.compile(r"[\s-]+")


def totp(user: User) -> TotpSecret | None:
    return db.session.get(TotpSecret, user.id)


def is_enabled(user: User) -> bool:
    record = totp(user)
    return record is not None and record.enabled_at is not None


def required_for(user: User) -> bool:
    """Whether the user's role must have a second factor (TWO_FACTOR_REQUIRED_ROLES)."""
    roles = current_app.config.get("TWO_FACTOR_REQUIRED_ROLES", ())
    return Role(user.role) in roles or ("reviewer" in roles and user.is_reviewer)


# --- enrolment -----------------------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """A new secret waiting for its first code (an enabled one is never replaced here)."""
    record = totp(user)
    if record is not None and record.enabled_at is not None:
        raise ValueError("two-factor sign-in is already on")
    secret = pyotp.random_base32()
    if record is None:
        db.session.add(TotpSecret(user_id=user.id, secret=secret, last_step=0))
    else:
        record.secret = secret
    db.session.commit()
    return secret


def pending_secret(user: User) -> str | None:
    record = totp(user)
    return record.secret if record is not None and record.enabled_at is None else None


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code (a path, no scripts or styles)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def _step_matching(secret: str, code: str, last_step: int) -> int | None:
    """The 30-second step the code belongs to (now ±1), if it is newer than last_step."""
    code = _NOT_CODE.sub("", code or "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):  # not "١٢٣٤٥٦"
        return None
    otp = pyotp.TOTP(secret)
    now = int(time.time()) // otp.interval
    for step in (now, now - 1, now + 1):
        if step > last_step and hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def finish_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor on when the code matches the pending secret; the new recovery codes."""
    record = totp(user)
    if record is None or record.enabled_at is not None:
        return None
    step = _step_matching(record.secret, code, record.last_step)
    if step is None:
        return None
    record.enabled_at = utcnow()
    record.last_step = step
    return new_recovery_codes(user)


def disable(user: User) -> None:
    db.session.execute(delete(TotpSecret).where(TotpSecret.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()


# --- recovery codes --------------------------------------------------------------------------


def _code_hash(user_id: int, code: str) -> str:
    # Keyed with the app's secret: a copy of the table alone can't be searched for codes.
    key = current_app.config["SECRET_KEY"].encode()
    normal = _NOT_CODE.sub("", code or "").lower()
    return hmac.new(key, f"{user_id}:{normal}".encode(), hashlib.sha256).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes (shown once), replacing any earlier ones."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_code_hash(user.id, c)) for c in codes
    )
    db.session.commit()
    return codes


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


# --- the second step of signing in -------------------------------------------------------------


def verify(user: User, code: str) -> str | None:
    """ "app" or "recovery" when the code is good (a recovery code is used up), else None."""
    record = totp(user)
    if record is None or record.enabled_at is None or not isinstance(code, str) or len(code) > 40:
        return None
    step = _step_matching(record.secret, code, record.last_step)
    if step is not None:
        # Conditional: two requests racing with the same code can't both pass.
        done = db.session.execute(
            update(TotpSecret)
            .where(TotpSecret.user_id == user.id, TotpSecret.last_step < step)
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return "app" if done.rowcount else None
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(user.id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return "recovery" if used.rowcount else None
