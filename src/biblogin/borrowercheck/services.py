"""The borrower check ("borchk"): the registry's rules, then the agency's library system.

Used by the login platform (library login, R-LOGIN-4) and by ordering (R-ORDER-3, R-PORTAL-8).
The PIN is passed through to the library system only: never stored, logged, put in an exception
message or returned (R-BC-5).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from biblogin.borrowercheck.guard import LibraryNotAnswering, library_call
from biblogin.common.agency_ids import is_agency_id
from biblogin.common.cpr import mask_cpr, normalise_cpr
from biblogin.integrations.library_systems.protocol import (
    Borrower,
    BorrowerAuthentication,
    BorrowerNotFound,
    LibrarySystemError,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
)
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.registry.models import Agency, AgencyType, UserIdKind
from biblogin.registry.selectors import agency_get_with_licence, agency_user_id_kinds

logger = logging.getLogger(__name__)

MAX_FIELD_LENGTH = 254
# Attempts at the library system per check: the first, and one retry (R-BC-3).
LIBRARY_SYSTEM_ATTEMPTS = 2


class BorrowerCheckStatus(StrEnum):
    """The answers of a borrower check (R-BC-1)."""

    OK = "ok"
    SERVICE_NOT_LICENSED = "service_not_licensed"
    SERVICE_UNAVAILABLE = "service_unavailable"
    LIBRARY_NOT_FOUND = "library_not_found"
    BORROWERCHECK_NOT_ALLOWED = "borrowercheck_not_allowed"
    BORROWER_NOT_FOUND = "borrower_not_found"
    BORROWER_NOT_IN_MUNICIPALITY = "borrower_not_in_municipality"
    MUNICIPALITY_CHECK_NOT_SUPPORTED_BY_LIBRARY = "municipality_check_not_supported_by_library"
    NO_USER_IN_REQUEST = "no_user_in_request"
    ERROR_IN_REQUEST = "error_in_request"


@dataclass(frozen=True, repr=False)
class BorrowerCheckResult:
    """The outcome of one check; the borrower's data only with ``ok``.

    ``user_id`` is the normalised user ID (a CPR as 10 digits when ``user_id_is_cpr``); ``cpr``
    is the borrower's CPR as the library knows it, for the caller's CULR look-up, never logged.
    """

    status: BorrowerCheckStatus
    agency_id: str
    user_id: str = ""
    user_id_is_cpr: bool = False
    cpr: str | None = None
    blocked: bool = False
    municipality_no: int | None = None
    name: str = ""
    email: str = ""
    borrower_ref: str = ""
    # The other IDs the library knows the borrower by (borrower numbers, e-mails), never logged.
    user_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == BorrowerCheckStatus.OK

    def __repr__(self) -> str:
        # R-CULR-5 / R-SEC-2: a result that ends up in a log line shows no CPR in full.
        user_id = mask_cpr(self.user_id) if self.user_id_is_cpr else self.user_id
        cpr = mask_cpr(self.cpr) if self.cpr else None
        return (
            f"BorrowerCheckResult(status={self.status.value!r}, agency_id={self.agency_id!r}, "
            f"user_id={user_id!r}, user_id_is_cpr={self.user_id_is_cpr}, cpr={cpr!r}, "
            f"blocked={self.blocked}, municipality_no={self.municipality_no!r}, "
            f"name={self.name!r}, email={self.email!r}, borrower_ref={self.borrower_ref!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class RegistryVerdict:
    """The registry's part of a check (rules 3-5): the agency, and the status it gives, if any."""

    service_requester: str
    agency_id: str
    agency: Agency | None
    # None: the registry lets this service requester check borrowers at this agency.
    status: BorrowerCheckStatus | None = None


# The verdicts read in the current request, while ``registry_verdicts_per_request`` is active.
_request_verdicts: ContextVar[dict[tuple[str, str], RegistryVerdict] | None] = ContextVar(
    "biblogin_registry_verdicts", default=None
)


@contextmanager
def registry_verdicts_per_request() -> Iterator[None]:
    """Read each registry verdict once within this block: one request (R-VIP-11).

    The registry is read afresh for every request; within one, the login page tells the
    registry's answer before the PIN is typed and the borrower check then needs the same answer:
    a second read would only repeat the first. Use as a view decorator or a ``with`` block.
    """
    token = _request_verdicts.set({})
    try:
        yield
    finally:
        _request_verdicts.reset(token)


def borrower_check_registry(*, service_requester: str, agency_id: str) -> RegistryVerdict:
    """Apply the registry's rules 3-5 of ``borrower_check`` to this agency, read afresh.

    Within ``registry_verdicts_per_request`` a verdict read earlier in the request is as fresh.
    """
    kept = _request_verdicts.get()
    key = (service_requester, agency_id)
    if kept is not None and key in kept:
        return kept[key]
    agency, licensed = agency_get_with_licence(
        agency_id=agency_id, service_requester=service_requester
    )
    verdict: BorrowerCheckStatus | None = None
    if agency is None:
        verdict = BorrowerCheckStatus.LIBRARY_NOT_FOUND
    elif not agency.borrower_check:  # R-VIP-3
        verdict = BorrowerCheckStatus.BORROWERCHECK_NOT_ALLOWED
    elif not licensed:
        # R-VIP-4: only service requesters the agency has opted in.
        verdict = BorrowerCheckStatus.SERVICE_NOT_LICENSED
    result = RegistryVerdict(
        service_requester=service_requester, agency_id=agency_id, agency=agency, status=verdict
    )
    if kept is not None:
        kept[key] = result
    return result


@dataclass(frozen=True)
class NormalisedUserId:
    value: str
    is_cpr: bool


def user_id_normalise(*, user_id: str, user_id_kinds: Sequence[str]) -> NormalisedUserId:
    """Normalise a typed user ID by what users type at the agency (R-BC-4).

    Trimmed; a CPR typed ``DDMMYY-SSSS`` or with spaces becomes 10 digits, only if it is a real
    date and only where the agency's user IDs include CPR (elsewhere a CPR-looking ID stays a
    local ID, as typed); an e-mail is lower-cased where the agency's user IDs include e-mail.
    Callers keying anything per user ID (throttling) should use this value.
    """
    value = user_id.strip()
    if UserIdKind.CPR in user_id_kinds:
        cpr = normalise_cpr(value)
        if cpr is not None:
            return NormalisedUserId(value=cpr, is_cpr=True)
    if UserIdKind.EMAIL in user_id_kinds and "@" in value:
        return NormalisedUserId(value=value.lower(), is_cpr=False)
    return NormalisedUserId(value=value, is_cpr=False)


def _malformed(value: object) -> bool:
    """Not a string, oversized, or holding control characters (or lone surrogates)."""
    if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH:
        return True
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def _municipality_malformed(municipality_no: object) -> bool:
    if municipality_no is None:
        return False
    if isinstance(municipality_no, bool) or not isinstance(municipality_no, int):
        return True
    return not 0 <= municipality_no <= 999


def _ask_with_one_retry(agency_id: str, ask: Callable[[], Borrower], *, timeout: float) -> Borrower:
    """Ask the library system; after a timeout or failure ask once more (R-BC-3).

    Each attempt passes the agency's bulkhead and circuit breaker (R-BC-6): a refusal is final
    (``LibraryNotAnswering``, no retry), and the retry is refused at once when the first
    attempt's failure opened the breaker.
    """
    for attempt in range(1, LIBRARY_SYSTEM_ATTEMPTS + 1):
        try:
            with library_call(agency_id, timeout=timeout):
                return ask()
        except LibraryNotAnswering as exc:
            logger.info(
                "library system not asked agency=%s attempt=%d reason=%s",
                agency_id,
                attempt,
                exc.reason,
            )
            raise
        except (LibrarySystemTimeout, LibrarySystemUnavailable) as exc:
            logger.warning(
                "library system did not answer agency=%s attempt=%d error=%s",
                agency_id,
                attempt,
                type(exc).__name__,
            )
            if attempt == LIBRARY_SYSTEM_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _check(
    *,
    service_requester: str,
    agency_id: str,
    user_id: str,
    password: object,
    pin_required: bool,
    municipality_no: int | None,
) -> BorrowerCheckResult:
    status = BorrowerCheckStatus
    # A caller's missing PIN (None) must never turn a check into a look-up without PIN.
    pin = password if isinstance(password, str) else ""
    if isinstance(agency_id, str):
        agency_id = agency_id.strip()
    # 1. Malformed input. Control characters count after trimming (a pasted trailing newline
    # is trimmed, R-BC-4); the length counts as sent.
    if (
        _malformed(service_requester)
        or not service_requester.strip()
        or not is_agency_id(agency_id)
        or not isinstance(user_id, str)
        or len(user_id) > MAX_FIELD_LENGTH
        or _malformed(user_id.strip())
        or (pin_required and password is not None and _malformed(password))
        or _municipality_malformed(municipality_no)
    ):
        return BorrowerCheckResult(status=status.ERROR_IN_REQUEST, agency_id="")
    trimmed_user_id = user_id.strip()
    # 2. No user.
    if not trimmed_user_id or (pin_required and not pin):
        return BorrowerCheckResult(status=status.NO_USER_IN_REQUEST, agency_id=agency_id)
    # 3. The registry, read afresh for each request (R-VIP-11).
    verdict = borrower_check_registry(
        service_requester=service_requester.strip(), agency_id=agency_id
    )
    if verdict.status is not None or verdict.agency is None:
        return BorrowerCheckResult(
            status=verdict.status or status.LIBRARY_NOT_FOUND, agency_id=agency_id
        )
    agency: Agency = verdict.agency
    # 4. R-BC-4: normalise by what users type at this agency.
    normalised = user_id_normalise(
        user_id=trimmed_user_id, user_id_kinds=agency_user_id_kinds(agency=agency)
    )

    def about_user(outcome: BorrowerCheckStatus) -> BorrowerCheckResult:
        return BorrowerCheckResult(
            status=outcome,
            agency_id=agency_id,
            user_id=normalised.value,
            user_id_is_cpr=normalised.is_cpr,
        )

    # 5. The library system, with a timeout and one retry (R-BC-3), under the agency's bulkhead
    # and circuit breaker (R-BC-6).
    system: BorrowerAuthentication = library_system_for(agency_id)
    timeout = float(settings.BORROWER_CHECK_TIMEOUT_SECONDS)
    if pin_required:

        def ask() -> Borrower:
            # R-BC-5: the PIN goes to the library system and nowhere else.
            return system.authenticate(user_id=normalised.value, password=pin, timeout=timeout)
    else:

        def ask() -> Borrower:
            return system.lookup(user_id=normalised.value, timeout=timeout)

    try:
        borrower = _ask_with_one_retry(agency_id, ask, timeout=timeout)
    except BorrowerNotFound:
        # R-BC-2: unknown user and wrong PIN are one answer.
        return about_user(status.BORROWER_NOT_FOUND)
    except LibrarySystemError:
        return about_user(status.SERVICE_UNAVAILABLE)
    # 6. The municipality, when asked.
    if municipality_no is not None:
        if agency.agency_type != AgencyType.FOLKEBIBLIOTEK:
            return about_user(status.MUNICIPALITY_CHECK_NOT_SUPPORTED_BY_LIBRARY)
        if borrower.municipality_no != municipality_no:
            return about_user(status.BORROWER_NOT_IN_MUNICIPALITY)
    return BorrowerCheckResult(
        status=status.OK,
        agency_id=agency_id,
        user_id=normalised.value,
        user_id_is_cpr=normalised.is_cpr,
        cpr=borrower.cpr,
        blocked=borrower.blocked,
        municipality_no=borrower.municipality_no,
        name=borrower.name,
        email=borrower.email,
        borrower_ref=borrower.borrower_ref,
        user_ids=(*borrower.borrower_numbers, *(e.lower() for e in borrower.emails)),
    )


def _logged(kind: str, started: float, result: BorrowerCheckResult, requester: object) -> None:
    # No user ID (it may be a CPR) and never the PIN: status and timing are what operations need.
    logger.info(
        "%s agency=%s requester=%s status=%s ms=%d",
        kind,
        result.agency_id or "-",
        requester if isinstance(requester, str) and not _malformed(requester) else "-",
        result.status.value,
        (time.monotonic() - started) * 1000,
    )


def borrower_check(
    *,
    service_requester: str,
    agency_id: str,
    user_id: str,
    password: str,
    municipality_no: int | None = None,
) -> BorrowerCheckResult:
    """Check a user ID and PIN at an agency's library system, under the registry's rules.

    The rules, in this order (the first that applies gives the status, R-BC-1):

    1. ``error_in_request``: a field is not text, longer than 254 characters or holds control
       characters; the agency ID is not 6 digits; the service requester is empty; the
       municipality number is not 0-999.
    2. ``no_user_in_request``: the user ID (after trimming) or the PIN is empty.
    3. ``library_not_found``: no such agency, or it is deleted.
    4. ``borrowercheck_not_allowed``: the agency does not allow borrower check (R-VIP-3).
    5. ``service_not_licensed``: the agency has not opted this service requester in (R-VIP-4).
    6. The user ID is normalised (R-BC-4, ``user_id_normalise``) and the library system asked,
       with ``settings.BORROWER_CHECK_TIMEOUT_SECONDS``; a timeout or failure is retried once,
       then ``service_unavailable`` (R-BC-3). ``service_unavailable`` at once, without asking,
       while the agency's bulkhead is full or its circuit breaker open (R-BC-6, ``guard``).
    7. ``borrower_not_found``: unknown user or wrong PIN, indistinguishably (R-BC-2).
    8. With ``municipality_no``: ``municipality_check_not_supported_by_library`` when the agency
       is not a public library, ``borrower_not_in_municipality`` when the borrower lives elsewhere.
    9. ``ok``, with blocked, municipality, name, e-mail, the borrower's CPR and reference.

    The PIN is never stored, logged, or put in the result (R-BC-5).
    """
    started = time.monotonic()
    result = _check(
        service_requester=service_requester,
        agency_id=agency_id,
        user_id=user_id,
        password=password,
        pin_required=True,
        municipality_no=municipality_no,
    )
    _logged("borrower check", started, result, service_requester)
    return result


def borrower_lookup(
    *,
    service_requester: str,
    agency_id: str,
    user_id: str,
    municipality_no: int | None = None,
) -> BorrowerCheckResult:
    """Look a borrower up at an agency without a PIN, under the same rules as ``borrower_check``.

    For a caller that already knows who the user is (a logged-in user ordering, R-ORDER-3) and
    needs the library's current view of them (still registered, blocked).
    """
    started = time.monotonic()
    result = _check(
        service_requester=service_requester,
        agency_id=agency_id,
        user_id=user_id,
        password=None,
        pin_required=False,
        municipality_no=municipality_no,
    )
    _logged("borrower lookup", started, result, service_requester)
    return result
