"""CPR at rest (R-CULR-5): AES-GCM with a per-value nonce, and a keyed hash for look-ups.

Both keys are derived with HKDF from the one master ``settings.CPR_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"v1"


@lru_cache(maxsize=4)
def _keys(master: str) -> tuple[bytes, bytes]:
    okm = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=None, info=b"biblogin cpr keys v1"
    ).derive(master.encode())
    return okm[:32], okm[32:]


def _enc_key() -> bytes:
    return _keys(settings.CPR_KEY)[0]


def _mac_key() -> bytes:
    return _keys(settings.CPR_KEY)[1]


def encrypt_cpr(cpr: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_enc_key()).encrypt(nonce, cpr.encode(), _VERSION)
    return _VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_cpr(token: str) -> str:
    version, _, payload = token.partition(":")
    if version != _VERSION.decode():
        raise ValueError("unknown CPR encryption version")
    raw = base64.urlsafe_b64decode(payload)
    return AESGCM(_enc_key()).decrypt(raw[:12], raw[12:], _VERSION).decode()


def cpr_hash(cpr: str) -> str:
    """Keyed hash of a normalised CPR: equal CPRs give equal hashes; unkeyed guessing is useless."""
    return hmac.new(_mac_key(), cpr.encode(), hashlib.sha256).hexdigest()


def keyed_hash(value: str, *, purpose: str) -> str:
    """Keyed hash of any identifier, separated by purpose (e.g. pairwise subject IDs)."""
    return hmac.new(_mac_key(), f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
