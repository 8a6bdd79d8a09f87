"""Signed JWTs from a provider: signature against its JWKS, and the ID token's claims.

OIDC Core 3.1.3.7 (ID token validation) and 3.1.3.6 (at_hash); asymmetric algorithms only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import Key, KeySet

from biblogin.integrations.oidc_client.errors import OIDCTokenInvalid

# Never "none", never HMAC (which a provider would key with our own client secret).
SIGNING_ALGS_ALLOWED = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_TOKEN_LENGTH = 16384
_KEY_TYPE_FOR_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_SAFE_CODE = re.compile(r"[^A-Za-z0-9_.\-]")


def constant_time_equal(given: str, expected: str) -> bool:
    """Compare in constant time; encoded first because compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8", "replace")
    )


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def safe_code(value: object) -> str:
    """Reduce a provider-supplied code to something harmless in a log line or error code."""
    return _SAFE_CODE.sub("", value)[:40] if isinstance(value, str) else ""


def signing_algs(advertised: object) -> frozenset[str]:
    """Return the algorithms to accept: what the provider advertises, asymmetric ones only."""
    if not isinstance(advertised, list) or not advertised:
        return frozenset({"RS256"})  # OIDC Discovery: RS256 is the default
    return frozenset(a for a in advertised if isinstance(a, str)) & SIGNING_ALGS_ALLOWED


def jwt_verified_claims(
    value: str, *, algorithms: frozenset[str], key_set: Callable[[bool], KeySet]
) -> dict[str, Any]:
    """Verify a compact JWS and return its claims; ``key_set(True)`` refetches the provider's keys.

    An unknown ``kid`` (or, without a kid, no key that fits) refetches the JWKS once: the
    provider may have rotated its keys. A known kid with a bad signature does not. (How often a
    refetch really goes out is the key source's business: see ``OIDCClient.key_set``.)
    """
    alg, kid = _header(value, algorithms=algorithms)
    for refetch in (False, True):
        keys = _candidate_keys(key_set(refetch), alg=alg, kid=kid)
        for key in keys:
            try:
                claims = jwt.decode(value, key, algorithms=[alg]).claims
            except BadSignatureError:
                continue
            except (JoseError, ValueError, TypeError) as exc:
                raise OIDCTokenInvalid(code="jwt_malformed") from exc
            return dict(claims)
        if keys and kid is not None:
            break
    raise OIDCTokenInvalid(code="jwt_signature" if kid is None else "jwt_unknown_or_bad_key")


def id_token_claims_check(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
    alg: str,
    leeway: int,
    max_age: int | None = None,
) -> None:
    """Raise OIDCTokenInvalid unless the ID token is our provider's, for us, fresh, this login's."""
    registry = jwt.JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(dict(claims))
    except JoseError as exc:
        raise OIDCTokenInvalid(code=f"id_token_{safe_code(exc.error)}") from exc
    except (TypeError, ValueError) as exc:  # e.g. a list claim with unhashable members
        raise OIDCTokenInvalid(code="id_token_claims") from exc
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
        raise OIDCTokenInvalid(code="id_token_sub")
    aud = claims["aud"]
    azp = claims.get("azp")
    # Several audiences require azp, and azp must be us.
    if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (
        azp is not None and azp != client_id
    ):
        raise OIDCTokenInvalid(code="id_token_azp")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not constant_time_equal(token_nonce, nonce):
        raise OIDCTokenInvalid(code="id_token_nonce")
    at_hash = claims.get("at_hash")
    if at_hash is not None and (
        not isinstance(at_hash, str)
        or not constant_time_equal(at_hash, _half_hash(access_token, alg))
    ):
        raise OIDCTokenInvalid(code="id_token_at_hash")
    if "auth_time" in claims and not is_number(claims["auth_time"]):
        raise OIDCTokenInvalid(code="id_token_auth_time")
    # OIDC Core 3.1.3.7 item 13: a request with max_age needs the auth_time claim.
    if max_age is not None and "auth_time" not in claims:
        raise OIDCTokenInvalid(code="id_token_auth_time")


def id_token_verified(
    id_token: str,
    *,
    key_set: Callable[[bool], KeySet],
    algorithms: frozenset[str],
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
    leeway: int,
    max_age: int | None = None,
) -> dict[str, Any]:
    """Verify the ID token's signature and claims (OIDC Core 3.1.3.7); return the claims."""
    claims = jwt_verified_claims(id_token, algorithms=algorithms, key_set=key_set)
    id_token_claims_check(
        claims,
        issuer=issuer,
        client_id=client_id,
        nonce=nonce,
        access_token=access_token,
        alg=jwt_alg(id_token),
        leeway=leeway,
        max_age=max_age,
    )
    return claims


def jwt_alg(value: str) -> str:
    """Return the ``alg`` of a JWT whose signature was already verified."""
    alg: str = jws.extract_compact(value.encode("ascii")).headers()["alg"]
    return alg


def _header(value: str, *, algorithms: frozenset[str]) -> tuple[str, str | None]:
    if len(value) > MAX_TOKEN_LENGTH or value.count(".") != 2:
        raise OIDCTokenInvalid(code="jwt_malformed")
    try:
        header = jws.extract_compact(value.encode("ascii")).headers()
    except (JoseError, ValueError, TypeError, UnicodeError) as exc:
        raise OIDCTokenInvalid(code="jwt_malformed") from exc
    alg = header.get("alg")
    kid = header.get("kid")
    if not isinstance(alg, str) or alg not in algorithms:
        raise OIDCTokenInvalid(code="jwt_alg")
    if kid is not None and not isinstance(kid, str):
        raise OIDCTokenInvalid(code="jwt_kid")
    return alg, kid


def _candidate_keys(key_set: KeySet, *, alg: str, kid: str | None) -> list[Key]:
    key_type = _KEY_TYPE_FOR_ALG.get(alg[:2])
    keys = [k for k in key_set.keys if k.key_type == key_type]
    if kid is not None:
        keys = [k for k in keys if k.kid == kid]
    return keys


def _half_hash(access_token: str, alg: str) -> str:
    """OIDC Core 3.1.3.6 at_hash: the left half of the hash the signing algorithm uses."""
    digest_name = "sha512" if alg == "EdDSA" else f"sha{alg[2:]}"
    digest = hashlib.new(digest_name, access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
