"""CPR at rest (R-CULR-5): authenticated encryption with a fresh nonce, and a keyed look-up hash."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common.cpr_crypto import cpr_hash, decrypt_cpr, encrypt_cpr, keyed_hash

CPR = "1503851234"


def test_encrypted_cpr_decrypts_to_the_same_cpr_R_CULR_5():
    token = encrypt_cpr(CPR)
    assert decrypt_cpr(token) == CPR
    assert CPR not in token
    assert token.startswith("v1:")


@given(cpr=st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_round_trip_for_any_ten_digits_R_CULR_5(cpr):
    assert decrypt_cpr(encrypt_cpr(cpr)) == cpr


def test_each_encryption_uses_a_fresh_nonce_R_CULR_5():
    tokens = [encrypt_cpr(CPR) for _ in range(200)]
    assert len(set(tokens)) == len(tokens)
    nonces = {base64.urlsafe_b64decode(t.partition(":")[2])[:12] for t in tokens}
    assert len(nonces) == len(tokens)


def test_a_tampered_token_does_not_decrypt_R_CULR_5():
    version, _, payload = encrypt_cpr(CPR).partition(":")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        decrypt_cpr(f"{version}:{base64.urlsafe_b64encode(bytes(raw)).decode()}")


def test_an_unknown_version_is_refused():
    token = encrypt_cpr(CPR)
    with pytest.raises(ValueError, match="version"):
        decrypt_cpr("v0:" + token.partition(":")[2])


def test_a_token_sealed_with_another_key_does_not_decrypt_R_CULR_5():
    with override_settings(CPR_KEY="another master key, another deployment"):
        foreign = encrypt_cpr(CPR)
    with pytest.raises(InvalidTag):
        decrypt_cpr(foreign)


def test_keyed_hash_is_stable_and_separates_cprs_R_CULR_5():
    assert cpr_hash(CPR) == cpr_hash(CPR)
    assert len(cpr_hash(CPR)) == 64
    assert cpr_hash(CPR) != cpr_hash("1503851235")


def test_keyed_hash_depends_on_the_key_R_CULR_5():
    """Without the key, hashing all ~4 billion candidate CPRs finds nothing."""
    import hashlib

    here = cpr_hash(CPR)
    with override_settings(CPR_KEY="another master key, another deployment"):
        there = cpr_hash(CPR)
        assert there == cpr_hash(CPR)
    assert here != there
    assert here != hashlib.sha256(CPR.encode()).hexdigest()
    assert cpr_hash(CPR) == here  # back on the first key


def test_keyed_hash_of_other_identifiers_is_separated_by_purpose():
    assert keyed_hash("820099:12345", purpose="sub") == keyed_hash("820099:12345", purpose="sub")
    assert keyed_hash("820099:12345", purpose="sub") != keyed_hash("820099:12345", purpose="x")
    assert keyed_hash(CPR, purpose="sub") != cpr_hash(CPR)
