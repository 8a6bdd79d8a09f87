"""PINs of simulated borrowers: Argon2id at OWASP's parameters, never kept in plain (R-BC-5)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST_KIB = 19456
ARGON2_PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_COST_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

# R-BC-2: an unknown user is verified against this hash (of a random secret nobody knows, made
# once at the same parameters) so that it costs exactly what a wrong PIN costs. A constant, not
# computed at start-up: the first unknown user must not pay for a hash that others do not.
DUMMY_PIN_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$oJk28Lj/NghCJAbbZz/CPQ"
    "$DDuM82ewz1OoEAsuhAC2UfOs50O93LlYuexiYhkzUSs"
)


def pin_hash(pin: str) -> str:
    """Hash a PIN with Argon2id and a fresh salt."""
    return _hasher.hash(pin)


def pin_verify(*, stored_hash: str | None, pin: str) -> bool:
    """Tell whether the PIN matches; with no stored hash, spend the same time and say no."""
    target = stored_hash or DUMMY_PIN_HASH
    try:
        matched: bool = _hasher.verify(target, pin)
    except (VerificationError, InvalidHashError):
        matched = False
    return matched and bool(stored_hash)
