"""R-LOGIN-5: throttle PIN checks per (agency, user ID) and per IP address.

Here, beside the borrower check, because every PIN check is throttled the same way: the library
login (R-LOGIN-5) and, later, an order that needs a PIN (R-PORTAL-8).

Counters live in Django's cache, shared by every worker (Redis at scale, where ``incr`` is
atomic; the embedded default is a database cache). Nothing here stores a user ID in clear: the
pair is keyed by a keyed hash.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from biblogin.common.cpr_crypto import keyed_hash

PAIR_MAX_FAILURES = 5
PAIR_BLOCK_SECONDS = 15 * 60
PAIR_BLOCK_MAX_SECONDS = 24 * 3600
PAIR_MEMORY_SECONDS = 24 * 3600
IP_MAX_FAILURES_PER_HOUR = 100
IP_BLOCK_SECONDS = 3600
_PREFIX = "biblogin:throttle:"


@dataclass(frozen=True)
class ThrottleState:
    """Whether a login may be tried now, and how many tries the pair has left."""

    blocked: bool
    retry_after: int = 0
    attempts_left: int = PAIR_MAX_FAILURES
    by_ip: bool = False
    # The cache keys of this attempt's counters that existed when it was checked (None: not
    # known, as in a state that ``throttle_check`` did not give).
    known: frozenset[str] | None = None


def client_ip(request: HttpRequest) -> str:
    """The client's IP: REMOTE_ADDR, or the address our own trusted proxies saw.

    ``settings.LOGIN_TRUSTED_PROXY_COUNT`` proxies append to X-Forwarded-For; the entry they
    added is the client. Anything further left was written by the client and is not trusted.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "LOGIN_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote[:64]
    forwarded = [p.strip() for p in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [p for p in forwarded if p]
    if len(forwarded) >= proxies:
        return forwarded[-proxies][:64]
    return remote[:64]


def _pair_key(agency_id: str, user_id: str) -> str:
    return keyed_hash(f"{agency_id}\x00{user_id}", purpose="login-throttle")[:40]


def _incr(key: str, ttl: int, *, existed: bool = False) -> int:
    """Add one to a counter that lives ``ttl`` seconds after its last change.

    ``existed``: the counter was there a moment ago, so try ``incr`` before ``add`` (on the
    database cache a failed ``add`` costs three queries).
    """
    if not existed and cache.add(key, 1, ttl):
        return 1
    try:
        value = int(cache.incr(key))
    except ValueError:  # expired meanwhile
        cache.add(key, 1, ttl)
        return 1
    # Some backends reset the timeout on incr; give the counter its full life again.
    cache.touch(key, ttl)
    return value


def _ip_count(ip: str, now: float, current: int) -> float:
    """Failures in the last hour, estimated from two hourly buckets (sliding window).

    ``current``: this hour's bucket, as its increment just returned it.
    """
    hour = int(now // 3600)
    previous = int(cache.get(f"{_PREFIX}ip:{ip}:{hour - 1}", 0) or 0)
    weight = 1.0 - (now % 3600) / 3600
    return current + previous * weight


def throttle_check(*, agency_id: str, user_id: str, ip: str) -> ThrottleState:
    """R-LOGIN-5: tell, BEFORE the borrower check, whether this login may be tried."""
    now = time.time()
    ip_keys = [f"{_PREFIX}ipblock:{ip}", f"{_PREFIX}ip:{ip}:{int(now // 3600)}"] if ip else []
    key = _pair_key(agency_id, user_id) if user_id else ""
    pair_keys = (
        [f"{_PREFIX}pairblock:{key}", f"{_PREFIX}pair:{key}", f"{_PREFIX}pairlevel:{key}"]
        if key
        else []
    )
    # Every counter this attempt depends on, in one round trip (the database cache: one query).
    found = cache.get_many([*ip_keys, *pair_keys])
    known = frozenset(found)
    if ip:
        until = found.get(f"{_PREFIX}ipblock:{ip}")
        if until is not None and float(until) > now:
            return ThrottleState(
                blocked=True,
                retry_after=math.ceil(float(until) - now),
                attempts_left=0,
                by_ip=True,
                known=known,
            )
    if not key:
        return ThrottleState(blocked=False, known=known)
    until = found.get(f"{_PREFIX}pairblock:{key}")
    if until is not None and float(until) > now:
        return ThrottleState(
            blocked=True, retry_after=math.ceil(float(until) - now), attempts_left=0, known=known
        )
    failures = int(found.get(f"{_PREFIX}pair:{key}", 0) or 0)
    return ThrottleState(
        blocked=False, attempts_left=max(PAIR_MAX_FAILURES - failures, 0), known=known
    )


def _existed(checked: ThrottleState | None, key: str) -> bool:
    return checked is not None and checked.known is not None and key in checked.known


def throttle_failure(
    *, agency_id: str, user_id: str, ip: str, checked: ThrottleState | None = None
) -> ThrottleState:
    """Count a ``borrower_not_found``; block the pair after 5 in a row, the IP after 100/hour.

    ``checked``: what ``throttle_check`` gave this attempt; it saves asking the cache again
    whether the counters exist (they are still counted with the cache's own increment).
    """
    now = time.time()
    ip_blocked = False
    if ip:
        bucket = f"{_PREFIX}ip:{ip}:{int(now // 3600)}"
        current = _incr(bucket, 2 * 3600, existed=_existed(checked, bucket))
        if _ip_count(ip, now, current) >= IP_MAX_FAILURES_PER_HOUR:
            cache.set(f"{_PREFIX}ipblock:{ip}", now + IP_BLOCK_SECONDS, IP_BLOCK_SECONDS)
            ip_blocked = True
    if not user_id:
        return ThrottleState(blocked=ip_blocked, retry_after=IP_BLOCK_SECONDS if ip_blocked else 0)
    key = _pair_key(agency_id, user_id)
    pair = f"{_PREFIX}pair:{key}"
    failures = _incr(pair, PAIR_MEMORY_SECONDS, existed=_existed(checked, pair))
    if failures >= PAIR_MAX_FAILURES:
        # Each block of the same pair within a day lasts twice as long as the one before.
        level_key = f"{_PREFIX}pairlevel:{key}"
        level = _incr(level_key, PAIR_MEMORY_SECONDS, existed=_existed(checked, level_key))
        seconds = min(PAIR_BLOCK_SECONDS * 2 ** (level - 1), PAIR_BLOCK_MAX_SECONDS)
        cache.set(f"{_PREFIX}pairblock:{key}", now + seconds, seconds)
        cache.delete(pair)
        return ThrottleState(blocked=True, retry_after=seconds, attempts_left=0)
    if ip_blocked:
        return ThrottleState(
            blocked=True, retry_after=IP_BLOCK_SECONDS, attempts_left=0, by_ip=True
        )
    return ThrottleState(blocked=False, attempts_left=PAIR_MAX_FAILURES - failures)


def throttle_success(*, agency_id: str, user_id: str, checked: ThrottleState | None = None) -> None:
    """A successful login resets the pair's counter and its doubling (R-LOGIN-5).

    ``checked``: what ``throttle_check`` gave this attempt. When the pair had no counters then
    (most logins), there is nothing to reset and nothing is written. A failure of the same pair
    that a concurrent attempt counts meanwhile then stays counted, exactly as it would had it
    landed just after this success: concurrent attempts have no order to keep.
    """
    key = _pair_key(agency_id, user_id)
    counters = [f"{_PREFIX}pair:{key}", f"{_PREFIX}pairlevel:{key}"]
    if checked is not None and checked.known is not None:
        counters = [k for k in counters if k in checked.known]
    if counters:
        cache.delete_many(counters)
