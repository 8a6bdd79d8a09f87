"""R-LOGIN-5: throttle PIN checks per borrower (or (agency, user ID)) and per IP address.

Here, beside the borrower check, because every PIN check is throttled the same way: the library
login (R-LOGIN-5) and, later, an order that needs a PIN (R-PORTAL-8).

An attempt is *reserved* before the library system is asked (``throttle_reserve``) and given its
outcome after (``throttle_failure``, ``throttle_success``, ``throttle_release``): a pending
attempt counts against the budget, so however many arrive at once, at most
``PAIR_MAX_FAILURES`` of a budget reach the library per block window. Each step is one atomic
operation of the store: a Lua script on Redis (``REDIS_URL``), one SQL statement on a row of
``ThrottleRow`` otherwise (the database cache's ``incr`` is not atomic).

The budget is the borrower's: once the library said who an ID belongs to (a successful check),
each of the borrower's IDs (CPR, borrower numbers, e-mails) is an alias of one budget. Nothing
here stores a user ID or PIN in clear: pairs, aliases and borrowers are keyed hashes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.http import HttpRequest

from biblogin.borrowercheck.models import ThrottleRow
from biblogin.common.cpr_crypto import keyed_hash

PAIR_MAX_FAILURES = 5
PAIR_BLOCK_SECONDS = 15 * 60
PAIR_BLOCK_MAX_SECONDS = 24 * 3600
PAIR_MEMORY_SECONDS = 24 * 3600
IP_MAX_FAILURES_PER_HOUR = 100
IP_BLOCK_SECONDS = 3600
# How long the library's word on whose IDs these are is kept (renewed at a successful login).
ALIAS_SECONDS = 90 * 24 * 3600
_PREFIX = "biblogin:throttle:"


@dataclass(frozen=True)
class ThrottleState:
    """Whether a login may be tried now, and how many tries the pair has left."""

    blocked: bool
    retry_after: int = 0
    attempts_left: int = PAIR_MAX_FAILURES
    by_ip: bool = False
    # The budget this attempt holds a reservation on ("": none); its outcome gives it back.
    budget: str = ""
    # The IP's failures of the previous hour, as read at the reservation (the sliding window).
    ip_previous: int = 0


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


def _borrower_budget(agency_id: str, borrower_ref: str) -> str:
    return "b:" + keyed_hash(f"{agency_id}\x00{borrower_ref}", purpose="login-throttle-b")[:40]


def _block_seconds(level: int) -> int:
    """Each block of the same budget within a day lasts twice as long as the one before."""
    return int(min(PAIR_BLOCK_SECONDS * 2 ** min(level - 1, 32), PAIR_BLOCK_MAX_SECONDS))


def _busy_seconds() -> int:
    """How long the attempts now at the library can take (the check's timeout, and one retry)."""
    from biblogin.borrowercheck.services import LIBRARY_SYSTEM_ATTEMPTS

    return math.ceil(LIBRARY_SYSTEM_ATTEMPTS * float(settings.BORROWER_CHECK_TIMEOUT_SECONDS)) + 1


# --- the stores: each method is one atomic step ---------------------------------------------


@dataclass(frozen=True)
class _Found:
    count: int = 0
    until: float = 0.0
    target: str = ""


@dataclass(frozen=True)
class _Reservation:
    granted: bool
    failures: int
    reserved: int
    blocked_until: float


class _Store(Protocol):
    def read(self, keys: list[str], now: float) -> dict[str, _Found]: ...
    def budget_read(self, budget: str, now: float) -> _Reservation: ...
    def reserve(self, budget: str, now: float) -> _Reservation: ...
    def fail(self, budget: str, now: float) -> tuple[int, int]: ...
    def refund(self, budget: str) -> None: ...
    def reset(self, budgets: list[str]) -> None: ...
    def ip_fail(self, bucket: str, now: float) -> int: ...
    def ip_block(self, key: str, now: float) -> None: ...
    def aliases_set(self, keys: list[str], target: str, now: float) -> None: ...


class _SqlStore:
    """Rows of ``ThrottleRow``; each step one statement (SQLite ≥ 3.35 and PostgreSQL)."""

    @staticmethod
    def _sql(template: str, **parts: str) -> str:
        q = connection.ops.quote_name
        return template.format(t=q(ThrottleRow._meta.db_table), key=q("key"), **parts)

    def _one(self, template: str, params: list[Any]) -> tuple[Any, ...]:
        with connection.cursor() as cursor:
            cursor.execute(self._sql(template), params)
            row = cursor.fetchone()
        assert row is not None
        return tuple(row)

    def read(self, keys: list[str], now: float) -> dict[str, _Found]:
        # Plain SQL, as every step here: the ORM spent ~0.5 ms compiling it (issue 14).
        with connection.cursor() as cursor:
            cursor.execute(
                self._sql(
                    "SELECT {key}, failures, blocked_until, target FROM {t}"
                    " WHERE {key} IN ({keys}) AND expires > %s",
                    keys=", ".join(["%s"] * len(keys)),
                ),
                [*keys, now],
            )
            rows = cursor.fetchall()
        return {
            key: _Found(count=int(failures), until=float(until), target=target)
            for key, failures, until, target in rows
        }

    def budget_read(self, budget: str, now: float) -> _Reservation:
        row = ThrottleRow.objects.filter(key=budget, expires__gt=now).first()
        if row is None:
            return _Reservation(granted=False, failures=0, reserved=0, blocked_until=0.0)
        return _Reservation(
            granted=False,
            failures=row.failures,
            reserved=row.reserved,
            blocked_until=row.blocked_until,
        )

    def reserve(self, budget: str, now: float) -> _Reservation:
        # A blocked budget is not counted on; an open one always is, and an attempt that finds
        # the budget full gives its count back at once (it never reaches the library).
        reserved, failures, until = self._one(
            "INSERT INTO {t} ({key}, reserved, failures, level, blocked_until, target, expires)"
            " VALUES (%s, 1, 0, 0, 0, '', %s) ON CONFLICT ({key}) DO UPDATE SET"
            " reserved = CASE WHEN {t}.expires <= %s THEN 1"
            "  WHEN {t}.blocked_until > %s THEN {t}.reserved ELSE {t}.reserved + 1 END,"
            " failures = CASE WHEN {t}.expires <= %s THEN 0 ELSE {t}.failures END,"
            " level = CASE WHEN {t}.expires <= %s THEN 0 ELSE {t}.level END,"
            " blocked_until = CASE WHEN {t}.expires <= %s THEN 0 ELSE {t}.blocked_until END,"
            " expires = %s RETURNING reserved, failures, blocked_until",
            [budget, now + PAIR_MEMORY_SECONDS, now, now, now, now, now, now + PAIR_MEMORY_SECONDS],
        )
        blocked = float(until) > now
        granted = not blocked and reserved <= PAIR_MAX_FAILURES
        if not blocked and not granted:
            ThrottleRow.objects.filter(key=budget, reserved__gt=F("failures")).update(
                reserved=F("reserved") - 1
            )
        return _Reservation(granted, int(failures), int(reserved), float(until))

    def fail(self, budget: str, now: float) -> tuple[int, int]:
        # The reservation stays, now as a failure (``reserved`` covers it even if a success
        # reset the budget meanwhile).
        failures, level = self._one(
            "INSERT INTO {t} ({key}, reserved, failures, level, blocked_until, target, expires)"
            " VALUES (%s, 1, 1, 0, 0, '', %s) ON CONFLICT ({key}) DO UPDATE SET"
            " failures = {t}.failures + 1,"
            " reserved = CASE WHEN {t}.reserved > {t}.failures THEN {t}.reserved"
            "  ELSE {t}.failures + 1 END,"
            " expires = %s RETURNING failures, level",
            [budget, now + PAIR_MEMORY_SECONDS, now + PAIR_MEMORY_SECONDS],
        )
        if failures < PAIR_MAX_FAILURES:
            return int(failures), 0
        seconds = _block_seconds(int(level) + 1)
        # Only the failure that filled the budget gets here; ``level`` guards it anyway, so one
        # run of failures raises the doubling once.
        ThrottleRow.objects.filter(key=budget, level=level).update(
            reserved=0,
            failures=0,
            level=F("level") + 1,
            blocked_until=now + seconds,
            expires=now + PAIR_MEMORY_SECONDS,
        )
        return int(failures), seconds

    def refund(self, budget: str) -> None:
        ThrottleRow.objects.filter(key=budget, reserved__gt=F("failures")).update(
            reserved=F("reserved") - 1
        )

    def reset(self, budgets: list[str]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                self._sql(
                    "DELETE FROM {t} WHERE {key} IN ({keys})", keys=", ".join(["%s"] * len(budgets))
                ),
                budgets,
            )

    def ip_fail(self, bucket: str, now: float) -> int:
        (failures,) = self._one(
            "INSERT INTO {t} ({key}, reserved, failures, level, blocked_until, target, expires)"
            " VALUES (%s, 0, 1, 0, 0, '', %s) ON CONFLICT ({key}) DO UPDATE SET"
            " failures = CASE WHEN {t}.expires <= %s THEN 1 ELSE {t}.failures + 1 END,"
            " expires = %s RETURNING failures",
            [bucket, now + 2 * 3600, now, now + 2 * 3600],
        )
        return int(failures)

    def ip_block(self, key: str, now: float) -> None:
        ThrottleRow.objects.update_or_create(
            key=key,
            defaults={"blocked_until": now + IP_BLOCK_SECONDS, "expires": now + IP_BLOCK_SECONDS},
        )

    def aliases_set(self, keys: list[str], target: str, now: float) -> None:
        params: list[Any] = []
        for key in keys:
            params += [key, target, now + ALIAS_SECONDS]
        with connection.cursor() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO {t} ({key}, reserved, failures, level, blocked_until, target,"
                    " expires) VALUES {rows} ON CONFLICT ({key}) DO UPDATE SET"
                    " target = excluded.target, expires = excluded.expires",
                    # Placeholders only: the values travel as parameters.
                    rows=", ".join(["(%s, 0, 0, 0, 0, %s, %s)"] * len(keys)),
                ),
                params,
            )


_RESERVE = """
local now = tonumber(ARGV[1])
local until_text = redis.call('HGET', KEYS[1], 'b') or '0'
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
-- The block's end goes back as text: a Lua number would reach the caller truncated.
if tonumber(until_text) > now or r >= tonumber(ARGV[2]) then return {0, f, r, until_text} end
r = redis.call('HINCRBY', KEYS[1], 'r', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, f, r, until_text}
"""
_FAIL = """
local f = redis.call('HINCRBY', KEYS[1], 'f', 1)
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
if r < f then redis.call('HSET', KEYS[1], 'r', f) end
local seconds = 0
if f >= tonumber(ARGV[1]) then
  local l = redis.call('HINCRBY', KEYS[1], 'l', 1)
  seconds = math.min(tonumber(ARGV[3]) * 2 ^ math.min(l - 1, 32), tonumber(ARGV[4]))
  local until_text = string.format('%.3f', tonumber(ARGV[2]) + seconds)
  redis.call('HSET', KEYS[1], 'r', 0, 'f', 0, 'b', until_text)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {f, seconds}
"""
_REFUND = """
local r = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
if r > f then redis.call('HINCRBY', KEYS[1], 'r', -1) end
"""
_INCR = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"""


class _RedisStore:
    """Keys of the cache's Redis; each step one command or Lua script (atomic in Redis)."""

    @staticmethod
    def _client() -> Any:
        # The cache's own connection pool (Django's RedisCache has no public accessor).
        return cache._cache.get_client(write=True)  # type: ignore[attr-defined]

    @staticmethod
    def _key(key: str) -> str:
        return str(cache.make_and_validate_key(_PREFIX + key))

    def _run(self, script: str, key: str, *args: Any) -> Any:
        client = self._client()
        return client.register_script(script)(keys=[self._key(key)], args=list(args))

    def read(self, keys: list[str], now: float) -> dict[str, _Found]:
        values = self._client().mget([self._key(k) for k in keys])
        found: dict[str, _Found] = {}
        for key, raw in zip(keys, values, strict=True):
            if raw is None:
                continue
            value = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key.startswith("alias:"):
                found[key] = _Found(target=value)
            elif key.startswith("ipblock:"):
                found[key] = _Found(until=float(value))
            else:
                found[key] = _Found(count=int(value))
        return found

    def budget_read(self, budget: str, now: float) -> _Reservation:
        r, f, b = self._client().hmget(self._key(budget), ["r", "f", "b"])
        return _Reservation(
            granted=False, failures=int(f or 0), reserved=int(r or 0), blocked_until=float(b or 0)
        )

    def reserve(self, budget: str, now: float) -> _Reservation:
        granted, f, r, until = self._run(
            _RESERVE, budget, repr(now), PAIR_MAX_FAILURES, PAIR_MEMORY_SECONDS
        )
        return _Reservation(bool(granted), int(f), int(r), float(until))

    def fail(self, budget: str, now: float) -> tuple[int, int]:
        failures, seconds = self._run(
            _FAIL,
            budget,
            PAIR_MAX_FAILURES,
            repr(now),
            PAIR_BLOCK_SECONDS,
            PAIR_BLOCK_MAX_SECONDS,
            PAIR_MEMORY_SECONDS,
        )
        return int(failures), int(seconds)

    def refund(self, budget: str) -> None:
        self._run(_REFUND, budget)

    def reset(self, budgets: list[str]) -> None:
        self._client().delete(*(self._key(b) for b in budgets))

    def ip_fail(self, bucket: str, now: float) -> int:
        return int(self._run(_INCR, bucket, 2 * 3600))

    def ip_block(self, key: str, now: float) -> None:
        self._client().set(self._key(key), now + IP_BLOCK_SECONDS, ex=IP_BLOCK_SECONDS)

    def aliases_set(self, keys: list[str], target: str, now: float) -> None:
        pipe = self._client().pipeline()
        for key in keys:
            pipe.set(self._key(key), target, ex=ALIAS_SECONDS)
        pipe.execute()


_SQL, _REDIS = _SqlStore(), _RedisStore()


def _store() -> _Store:
    return _REDIS if "redis" in settings.CACHES["default"]["BACKEND"].lower() else _SQL


# --- the steps of one attempt ---------------------------------------------------------------


def _ip_keys(ip: str, now: float) -> tuple[str, str, str]:
    hour = int(now // 3600)
    return f"ipblock:{ip}", f"ip:{ip}:{hour}", f"ip:{ip}:{hour - 1}"


def _looked_up(
    store: _Store, *, agency_id: str, user_id: str, ip: str, now: float
) -> tuple[ThrottleState | None, str, int]:
    """The IP's block (a refusing state, else None), the attempt's budget, the IP's last hour.

    One round trip: the IP's counters and the user ID's alias together.
    """
    keys = list(_ip_keys(ip, now)) if ip else []
    pair = _pair_key(agency_id, user_id) if user_id else ""
    if pair:
        keys.append(f"alias:{pair}")
    found = store.read(keys, now) if keys else {}
    previous = 0
    if ip:
        block, _current, last_hour = _ip_keys(ip, now)
        previous = found.get(last_hour, _Found()).count
        until = found.get(block, _Found()).until
        if until > now:
            refused = ThrottleState(
                blocked=True, retry_after=math.ceil(until - now), attempts_left=0, by_ip=True
            )
            return refused, "", previous
    budget = ""
    if pair:
        budget = found.get(f"alias:{pair}", _Found()).target or f"pair:{pair}"
    return None, budget, previous


def throttle_check(*, agency_id: str, user_id: str, ip: str) -> ThrottleState:
    """R-LOGIN-5: tell whether this login would be refused now (reads only, reserves nothing)."""
    now = time.time()
    store = _store()
    refused, budget, _previous = _looked_up(
        store, agency_id=agency_id, user_id=user_id, ip=ip, now=now
    )
    if refused is not None:
        return refused
    if not budget:
        return ThrottleState(blocked=False)
    state = store.budget_read(budget, now)
    if state.blocked_until > now:
        return ThrottleState(
            blocked=True, retry_after=math.ceil(state.blocked_until - now), attempts_left=0
        )
    return ThrottleState(blocked=False, attempts_left=max(PAIR_MAX_FAILURES - state.reserved, 0))


def throttle_reserve(*, agency_id: str, user_id: str, ip: str) -> ThrottleState:
    """R-LOGIN-5, BEFORE the borrower check: refuse, or reserve one attempt of the budget.

    Refused while the IP or the budget is blocked, and while the budget's attempts are all
    taken (failures in a row plus attempts now at the library). A granted state holds a
    reservation: pass it to ``throttle_failure``, ``throttle_success`` or ``throttle_release``.
    Call it outside a transaction (as the login does): a reservation rolled back with one would
    not count, and on PostgreSQL its row would stay locked until the transaction ends.
    """
    now = time.time()
    store = _store()
    refused, budget, previous = _looked_up(
        store, agency_id=agency_id, user_id=user_id, ip=ip, now=now
    )
    if refused is not None:
        return refused
    if not budget:
        return ThrottleState(blocked=False, ip_previous=previous)
    got = store.reserve(budget, now)
    if got.blocked_until > now:
        return ThrottleState(
            blocked=True, retry_after=math.ceil(got.blocked_until - now), attempts_left=0
        )
    if not got.granted:
        # The budget's last attempts are at the library now: their answer decides.
        return ThrottleState(blocked=True, retry_after=_busy_seconds(), attempts_left=0)
    return ThrottleState(
        blocked=False,
        attempts_left=max(PAIR_MAX_FAILURES - got.failures, 0),
        budget=budget,
        ip_previous=previous,
    )


def throttle_failure(
    *, agency_id: str, user_id: str, ip: str, checked: ThrottleState | None = None
) -> ThrottleState:
    """Count a ``borrower_not_found``; block the budget after 5 in a row, the IP after 100/hour.

    ``checked``: what ``throttle_reserve`` gave this attempt (its reservation becomes the
    failure). Without it the failure is counted on the user ID's budget all the same.
    """
    now = time.time()
    store = _store()
    budget = checked.budget if checked is not None else ""
    previous = checked.ip_previous if checked is not None else 0
    if checked is None:
        _refused, budget, previous = _looked_up(
            store, agency_id=agency_id, user_id=user_id, ip=ip, now=now
        )
    ip_blocked = False
    if ip:
        _block, bucket, _last_hour = _ip_keys(ip, now)
        current = store.ip_fail(bucket, now)
        weight = 1.0 - (now % 3600) / 3600  # the sliding window over two hourly buckets
        if current + previous * weight >= IP_MAX_FAILURES_PER_HOUR:
            store.ip_block(f"ipblock:{ip}", now)
            ip_blocked = True
    if not budget:
        return ThrottleState(blocked=ip_blocked, retry_after=IP_BLOCK_SECONDS if ip_blocked else 0)
    failures, seconds = store.fail(budget, now)
    if seconds:
        return ThrottleState(blocked=True, retry_after=seconds, attempts_left=0)
    if ip_blocked:
        return ThrottleState(
            blocked=True, retry_after=IP_BLOCK_SECONDS, attempts_left=0, by_ip=True
        )
    return ThrottleState(blocked=False, attempts_left=max(PAIR_MAX_FAILURES - failures, 0))


def throttle_release(*, checked: ThrottleState) -> None:
    """Give back a reservation whose check said neither yes nor no (library down, bad input)."""
    if checked.budget:
        _store().refund(checked.budget)


def throttle_success(
    *,
    agency_id: str,
    user_id: str,
    checked: ThrottleState | None = None,
    borrower_ref: str = "",
    user_ids: Iterable[str] = (),
) -> None:
    """A successful check resets the budget's counter and its doubling (R-LOGIN-5).

    ``borrower_ref``, ``user_ids``: whom the library said this is, and the IDs it knows them by
    (CPR, borrower numbers, e-mails). From now on failures under any of them, or under
    ``user_id``, count on one budget: the borrower's.
    """
    now = time.time()
    store = _store()
    budget = checked.budget if checked is not None else ""
    if checked is None:
        _refused, budget, _previous = _looked_up(
            store, agency_id=agency_id, user_id=user_id, ip="", now=now
        )
    target = _borrower_budget(agency_id, borrower_ref) if borrower_ref else ""
    budgets = sorted({budget, target} - {""})
    if budgets:
        store.reset(budgets)
    if not target or budget == target:
        return  # nobody named, or the aliases exist (written at an earlier success)
    ids = {user_id, *user_ids} - {""}
    store.aliases_set(sorted(f"alias:{_pair_key(agency_id, i)}" for i in ids), target, now)


def throttle_rows_purge() -> int:
    """Delete the counters that have expired (the embedded set-up; Redis expires its own)."""
    deleted, _by_model = ThrottleRow.objects.filter(expires__lte=time.time()).delete()
    return int(deleted)
