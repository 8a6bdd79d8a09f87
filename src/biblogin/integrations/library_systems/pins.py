"""PINs of simulated borrowers: Argon2id at OWASP's parameters, never kept in plain (R-BC-5).

The cost parameters come from ``settings.PIN_ARGON2`` when set (the test settings lower them:
still Argon2id, still a real verification, only cheaper); production uses OWASP's.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST_KIB = 19456
ARGON2_PARALLELISM = 1
OWASP_PARAMETERS = {
    "time_cost": ARGON2_TIME_COST,
    "memory_cost": ARGON2_MEMORY_COST_KIB,
    "parallelism": ARGON2_PARALLELISM,
}

# R-BC-2: an unknown user is verified against this hash (of a random secret nobody knows, made
# once at the same parameters) so that it costs exactly what a wrong PIN costs. A constant, not
# computed at start-up: the first unknown user must not pay for a hash that others do not.
DUMMY_PIN_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$oJk28Lj/NghCJAbbZz/CPQ"
    "$DDuM82ewz1OoEAsuhAC2UfOs50O93LlYuexiYhkzUSs"
)


def _parameters() -> tuple[int, int, int]:
    # Without Django settings (the benchmark's Argon2 pool workers): OWASP's.
    chosen = getattr(settings, "PIN_ARGON2", None) if settings.configured else None
    configured = {**OWASP_PARAMETERS, **(chosen or {})}
    return configured["time_cost"], configured["memory_cost"], configured["parallelism"]


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    if (time_cost, memory_cost, parallelism) == tuple(OWASP_PARAMETERS.values()):
        return DUMMY_PIN_HASH
    # Other parameters (the tests'): a dummy at those, so the cost still matches a wrong PIN's.
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(32))


def dummy_pin_hash() -> str:
    """The hash an unknown user is verified against, at the configured parameters (R-BC-2)."""
    return _dummy_hash(*_parameters())


def pin_hash(pin: str) -> str:
    """Hash a PIN with Argon2id and a fresh salt."""
    return _hasher(*_parameters()).hash(pin)


def pin_verify(*, stored_hash: str | None, pin: str) -> bool:
    """Tell whether the PIN matches; with no stored hash, spend the same time and say no."""
    parameters = _parameters()
    target = stored_hash or _dummy_hash(*parameters)
    try:
        matched: bool = _hasher(*parameters).verify(target, pin)
    except (VerificationError, InvalidHashError):
        matched = False
    return matched and bool(stored_hash)
