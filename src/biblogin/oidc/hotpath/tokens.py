"""Tokens of the lean path: random values, checksums, client secrets and the signed ID token.

The signing key is the platform's active key (``biblogin.oidc.keys``, rotation honoured
within its memo), prepared once per process and key: the PEM parse (33-40 ms) happens once,
and each ID token costs one RS256 signature through ``cryptography``, as DOT's jwcrypto does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.contrib.auth.hashers import check_password, identify_hasher
from django.utils.crypto import constant_time_compare
from oauthlib.common import UNICODE_ASCII_CHARACTER_SET

from biblogin.oidc.keys import LoadedKey, signing_key_active

_ALPHABET = UNICODE_ASCII_CHARACTER_SET  # 62 letters and digits, as oauthlib's tokens
_UNBIASED = 256 - 256 % len(_ALPHABET)
# Byte b (below _UNBIASED) -> the letter _ALPHABET[b % 62]; the bytes from _UNBIASED up are
# deleted. bytes.translate does per byte, in C, what a generator expression did in Python.
_LETTER_OF = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) if b < _UNBIASED else 0 for b in range(256))
_BIASED = bytes(range(_UNBIASED, 256))


def random_token(length: int = 30) -> str:
    """A token as oauthlib's ``generate_token`` makes them: 30 letters and digits, each drawn
    uniformly from the OS's CSPRNG (bytes above the largest multiple of 62 are dropped)."""
    letters = b""
    while len(letters) < length:
        letters += secrets.token_bytes(48).translate(_LETTER_OF, _BIASED)
    return letters[:length].decode("ascii")


def checksum(token: str) -> str:
    """DOT's ``token_checksum``: SHA-256 of the raw token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(value: str) -> str:
    """OIDC Core 3.1.3.6 ``at_hash``: left half of SHA-256, base64url (as oauthlib)."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


# --- client secrets -------------------------------------------------------------------------
# A client secret verified once against its stored hash is remembered by this process as an
# HMAC under a key that exists only in this process's memory, next to the stored hash it was
# verified against. A later request with the same secret and the same stored hash is then
# checked by a constant-time comparison of two HMACs (2 µs) instead of PBKDF2 (0.2 ms). A new
# secret (another stored hash) is verified afresh; a wrong secret is never remembered.
_SECRET_MEMO_KEY = os.urandom(32)
_SECRET_MEMO_SIZE = 256
_secret_memo: dict[tuple[int, str], bytes] = {}
_secret_memo_lock = threading.Lock()


def _secret_mac(secret: str) -> bytes:
    return hmac.new(_SECRET_MEMO_KEY, secret.encode("utf-8"), hashlib.sha256).digest()


def client_secret_matches(*, client_pk: int, provided: str, stored: str) -> bool:
    """DOT's ``_check_secret`` (hashed or plain stored secret), with the memo above."""
    try:
        identify_hasher(stored)
    except ValueError:
        return constant_time_compare(provided, stored)
    mac = _secret_mac(provided)
    remembered = _secret_memo.get((client_pk, stored))
    if remembered is not None and hmac.compare_digest(remembered, mac):
        return True
    if not check_password(provided, stored):
        return False
    with _secret_memo_lock:
        if len(_secret_memo) >= _SECRET_MEMO_SIZE:
            _secret_memo.clear()
        _secret_memo[(client_pk, stored)] = mac
    return True


def client_secret_memo_forget() -> None:
    with _secret_memo_lock:
        _secret_memo.clear()


# --- ID tokens ------------------------------------------------------------------------------


_prepared: dict[str, tuple[Any, str]] = {}


def _private_key(loaded: LoadedKey) -> tuple[Any, str]:
    """(cryptography private key, encoded JOSE header) of a loaded key, once per key."""
    prepared = _prepared.get(loaded.kid)
    if prepared is None:
        kid = loaded.jwk.thumbprint()
        header = json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid}).encode()
        prepared = (loaded.jwk.get_op_key("sign"), b64url(header))
        if len(_prepared) > 8:
            _prepared.clear()
        _prepared[loaded.kid] = prepared
    return prepared


def id_token_sign(claims: dict[str, Any]) -> str:
    """Sign ``claims`` with the active key (RS256, ``kid`` in the header, as DOT does)."""
    key, header = _private_key(signing_key_active())
    payload = b64url(json.dumps(claims, default=str).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"
