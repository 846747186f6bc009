"""Passkeys (WebAuthn, through py_webauthn): add, name, remove, and sign in with one.

The relying party is the site itself: its id and origin come from one setting (see
relying_party() in signin.py); the browser refuses a passkey made for another site.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..extensions import db
from ..models import Passkey, User, UserSession, utcnow

NAME_MAX = 60
CREDENTIAL_JSON_MAX = 16_000


class PasskeyError(ValueError):
    """A passkey response that doesn't check out; the message is for the person."""


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the host name, e.g. blog.example.org or localhost
    origin: str  # scheme://host[:port]
    name: str


def passkeys_of(user: User) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def user_handle(user: User) -> bytes:
    # The user's id: handles are per site and never shown; the credential id finds the key.
    return str(user.id).encode()


def registration_options(user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """Options JSON for navigator.credentials.create(), and the challenge to keep."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle(user),
        user_name=user.username,
        user_display_name=user.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in passkeys_of(user)
        ],
    )
    return options_to_json(options), options.challenge


def _parse(credential_json: str) -> dict:
    if not isinstance(credential_json, str) or len(credential_json) > CREDENTIAL_JSON_MAX:
        raise PasskeyError("The passkey's answer was missing or too long.")
    try:
        data = json.loads(credential_json)
    except ValueError:
        raise PasskeyError("The passkey's answer wasn't readable.") from None
    if not isinstance(data, dict):
        raise PasskeyError("The passkey's answer wasn't readable.")
    return data


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())[:NAME_MAX]
    return name or "Passkey"


def register(
    user: User, name: str, credential_json: str, challenge: bytes, rp: RelyingParty
) -> Passkey:
    """Check the browser's answer to registration_options() and keep the new passkey."""
    data = _parse(credential_json)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError):
        raise PasskeyError("That passkey couldn't be checked. Please try again.") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyError("That passkey is already registered.")
    transports = data.get("response", {}).get("transports") or []
    passkey = Passkey(
        user_id=user.id,
        name=clean_name(name),
        credential_id=credential_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=",".join(t for t in transports if isinstance(t, str))[:100],
    )
    db.session.add(passkey)
    db.session.commit()
    return passkey


def authentication_options(rp: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.get(): any passkey of this site (discoverable)."""
    options = generate_authentication_options(
        rp_id=rp.id, user_verification=UserVerificationRequirement.PREFERRED
    )
    return options_to_json(options), options.challenge


def authenticate(credential_json: str, challenge: bytes, rp: RelyingParty) -> User:
    """The passkey's owner when the browser's signed answer checks out (PasskeyError if not)."""
    data = _parse(credential_json)
    raw_id = data.get("rawId") or data.get("id")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        raise PasskeyError("That passkey isn't registered here.")
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
    if passkey is None:
        raise PasskeyError("That passkey isn't registered here.")
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError):
        raise PasskeyError("That passkey couldn't be checked. Please try again.") from None
    db.session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return db.session.get(User, passkey.user_id)


def remove(user: User, passkey_id: int) -> bool:
    """Remove one of the user's passkeys; False when it isn't theirs."""
    result = db.session.execute(
        delete(Passkey)
        .where(Passkey.id == passkey_id, Passkey.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount > 0


def revoke(user: User, passkey_id: int) -> bool:
    """Remove a passkey its owner says wasn't theirs, and end every session a passkey
    opened since it was added (sessions don't record which passkey: any passkey sign-in
    since then may have been it). False when it is gone or not theirs."""
    added = db.session.scalar(
        select(Passkey.created_at).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
    )
    if added is None:
        return False
    db.session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.method == "passkey",
            UserSession.created_at >= added,
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return remove(user, passkey_id)
