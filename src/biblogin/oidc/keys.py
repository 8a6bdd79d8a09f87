"""RS256 signing keys: kept in the database (private part encrypted), rotated without restart.

One key is active and signs new ID tokens. A rotation makes a new active key; the old one is
retired and still published in the JWKS (and used to verify ``id_token_hint``) until every
ID token it signed has expired and every cached JWKS has been refreshed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_migrate
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.settings import oauth2_settings

from biblogin.audit.models import AuditAction
from biblogin.audit.services import audit_event_record
from biblogin.oidc.models import SigningKey, SigningKeyState

_VERSION = b"k1"
RSA_KEY_BITS = 2048


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    jwk: Any  # jwcrypto.jwk.JWK with the private part


@lru_cache(maxsize=4)
def _aead_key(master: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"biblogin oidc signing keys v1"
    ).derive(master.encode())


def _seal(pem: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_aead_key(settings.OIDC_KEY_SECRET)).encrypt(nonce, pem, _VERSION)
    return _VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()


def _open(token: str) -> bytes:
    version, _, payload = token.partition(":")
    if version != _VERSION.decode():
        raise ValueError("unknown signing key encryption version")
    raw = base64.urlsafe_b64decode(payload)
    return AESGCM(_aead_key(settings.OIDC_KEY_SECRET)).decrypt(raw[:12], raw[12:], _VERSION)


@lru_cache(maxsize=16)
def _load(kid: str, sealed: str) -> LoadedKey:
    # Keyed by (kid, ciphertext): a key never changes, so a process may keep it parsed.
    return LoadedKey(kid=kid, jwk=jwk.JWK.from_pem(_open(sealed)))


def retired_key_publish_seconds() -> int:
    """How long a retired key stays in the JWKS: the life of an ID token plus JWKS caching."""
    return int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS) + 2 * int(
        oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS
    )


def _new_key_row(*, pem: bytes | None = None) -> SigningKey:
    key = jwk.JWK.from_pem(pem) if pem else jwk.JWK.generate(kty="RSA", size=RSA_KEY_BITS)
    if key.get("kty") != "RSA" or not key.has_private:
        raise ValueError("an RSA private key is required")
    public = json.loads(key.export_public())
    kid = key.thumbprint()
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return SigningKey(
        kid=kid,
        private_key_encrypted=_seal(key.export_to_pem(private_key=True, password=None)),
        public_jwk=public,
        state=SigningKeyState.ACTIVE,
    )


# The active key, kept per process for a short time: a token or a refresh needs it (kid and
# private key) without reading the table each time. Why a stale entry does no harm:
# - A rotation made by another process reaches this one within ACTIVE_KEY_MEMO_SECONDS; until
#   then this process goes on signing with the key just retired. A retired key stays in the
#   JWKS (and verifies ``id_token_hint``) for ID_TOKEN_EXPIRE_SECONDS + 2 x JWKS max-age after
#   its retirement, far longer than the memo, so every token it signs verifies for its whole
#   life; relying parties that cached the JWKS know this key better than the new one anyway.
# - Not even after a leak of the key: relying parties trust it as long as the JWKS publishes it
#   (that window, retired or not), so up to 30 s more signing with it adds nothing an attacker
#   holding it could not do; ending the trust is expiring the key, not rotating it.
# - A rotation in this process (command, admin) takes effect here at once: it forgets the memo.
# - Keys are never deleted (no delete in the admin); a key is expired only long after it was
#   retired, so the memo cannot hold an expired key.
# - Only a key read outside a transaction is kept: one read inside may still be rolled back
#   (the tests roll back every test's rows). A flush (tests, ``manage.py flush``) forgets it.
ACTIVE_KEY_MEMO_SECONDS = 30.0
_active_memo: tuple[float, LoadedKey] | None = None


def signing_key_memo_forget(**_kwargs: Any) -> None:
    """Forget the active key kept by this process (after a rotation or a flush)."""
    global _active_memo
    _active_memo = None


# ``flush`` (the test runner between transactional tests, ``manage.py flush``) empties the table.
post_migrate.connect(signing_key_memo_forget, dispatch_uid="biblogin.oidc.keys.memo_forget")


def signing_key_active() -> LoadedKey:
    """Return the active signing key, creating the first one on first use."""
    global _active_memo
    memo = _active_memo
    if memo is not None and time.monotonic() < memo[0]:
        return memo[1]
    row = SigningKey.objects.filter(state=SigningKeyState.ACTIVE).first()
    if row is None:
        candidate = _new_key_row()
        try:
            with transaction.atomic():
                candidate.save()
            row = candidate
        except IntegrityError:
            # Another worker made the first key at the same moment: use theirs.
            row = SigningKey.objects.get(state=SigningKeyState.ACTIVE)
    loaded = _load(row.kid, row.private_key_encrypted)
    if not connection.in_atomic_block:
        _active_memo = (time.monotonic() + ACTIVE_KEY_MEMO_SECONDS, loaded)
    return loaded


@transaction.atomic
def signing_key_rotate(
    *, pem: bytes | None = None, actor: str = "", ip: str | None = None
) -> SigningKey:
    """Make a new active key (generated, or the given PEM) and retire the current one."""
    now = timezone.now()
    new = _new_key_row(pem=pem)
    if SigningKey.objects.filter(kid=new.kid).exists():
        raise ValueError("this key is already known")
    active = SigningKey.objects.select_for_update().filter(state=SigningKeyState.ACTIVE)
    retired = list(active.values_list("kid", flat=True))
    active.update(state=SigningKeyState.RETIRED, retired_at=now)
    new.save()
    expired = signing_keys_expire()
    audit_event_record(
        action=AuditAction.OIDC_SIGNING_KEY_ROTATED,
        outcome="imported" if pem else "generated",
        actor=actor,
        subject=new.kid,  # the public key's thumbprint: nothing secret
        ip=ip,
        details={"retired": retired, "expired": expired},
    )
    # The new key signs from now on in this process; after the commit, so that no request in
    # between keeps the old one for the memo's whole life.
    signing_key_memo_forget()
    transaction.on_commit(signing_key_memo_forget)
    return new


def signing_keys_expire() -> int:
    """Stop publishing retired keys whose tokens can no longer be in use."""
    limit = timezone.now() - dt.timedelta(seconds=retired_key_publish_seconds())
    return SigningKey.objects.filter(state=SigningKeyState.RETIRED, retired_at__lt=limit).update(
        state=SigningKeyState.EXPIRED
    )


def _published_rows() -> list[SigningKey]:
    limit = timezone.now() - dt.timedelta(seconds=retired_key_publish_seconds())
    rows = list(
        SigningKey.objects.filter(state__in=[SigningKeyState.ACTIVE, SigningKeyState.RETIRED])
    )
    return [r for r in rows if r.state == SigningKeyState.ACTIVE or (r.retired_at or limit) > limit]


def jwks_public() -> dict[str, list[dict[str, Any]]]:
    """Return the JWKS document: the active key and the retired keys still in their window."""
    signing_key_active()
    return {"keys": [dict(r.public_jwk) for r in _published_rows()]}


def verification_key(kid: str | None) -> Any | None:
    """Return the public key that verifies a token signed with ``kid``, if still published."""
    if not kid or not isinstance(kid, str):
        return None
    for row in _published_rows():
        if row.kid == kid:
            return jwk.JWK(**row.public_jwk)
    return None
