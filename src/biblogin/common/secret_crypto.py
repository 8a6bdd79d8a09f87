"""Secrets at rest (e.g. a library system's SIP2 login password): AES-GCM like CPRs.

The key is derived with HKDF from the same master ``settings.CPR_KEY`` as the CPR keys, but with
its own ``info``, so a secret's ciphertext can never be passed off as a CPR's or the other way.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = "s1"


@lru_cache(maxsize=4)
def _key(master: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"biblogin secret key v1"
    ).derive(master.encode())


def encrypt_secret(value: str, *, purpose: str) -> str:
    """Seal a secret; ``purpose`` is bound in, so it only opens for the same purpose."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.CPR_KEY)).encrypt(
        nonce, value.encode(), f"{_VERSION}:{purpose}".encode()
    )
    return _VERSION + ":" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(token: str, *, purpose: str) -> str:
    """Open a sealed secret; raise ``ValueError`` if it is not one of ours for this purpose."""
    version, _, payload = token.partition(":")
    if version != _VERSION:
        raise ValueError("unknown secret encryption version")
    try:
        raw = base64.urlsafe_b64decode(payload)
        return (
            AESGCM(_key(settings.CPR_KEY))
            .decrypt(raw[:12], raw[12:], f"{_VERSION}:{purpose}".encode())
            .decode()
        )
    except Exception as exc:  # InvalidTag, binascii.Error, UnicodeDecodeError
        raise ValueError("the secret does not open with this key and purpose") from exc
