"""A library's own system reached over SIP2, as the platform's ``LibrarySystem``.

Which SIP2 messages carry what (SIP2 2.00):

- authenticate / lookup: Patron Information (63 → 64): BL valid patron, CQ valid PIN, AE name,
  BE e-mail, the patron status flags; the AA it answers is the borrower's reference.
- user status: 63 once per list (the summary field asks for one list at a time): AU charged items,
  AS available holds (ready for pickup), CD unavailable holds (waiting), AV fine items; then Item
  Information (17 → 18) per loan and hold for AJ title, AH due date, CM hold pickup date, AP
  current location.
- renew: Renew (29 → 30); hold place / cancel: Hold (15 → 16) with mode ``+`` / ``-``.

SIP2 2.00 has no field for a CPR, a municipality, a per-loan "renewable" flag, a patron's place
in a hold queue or a refusal's reason code: those stay empty; a refusal's code is what the
message itself says (a renewal refused is NOT_RENEWABLE, a hold refused OTHER) and the
server's screen message (AF) is its detail. A borrower export does not exist in SIP2 at all.

SIP2 knows no idempotency key either: ``request_place`` keeps one itself (``Sip2HoldRequest``),
recorded before the Hold message is sent, so a retry after a lost answer places no second hold.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping, Sequence

from django.db import IntegrityError
from django.utils import timezone

from biblogin.integrations.library_systems.models import Sip2HoldRequest, Sip2HoldState
from biblogin.integrations.library_systems.protocol import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    Borrower,
    BorrowerNotFound,
    Debt,
    LibrarySystemUnavailable,
    Loan,
    RefusalReason,
    RequestReceipt,
    RequestRefused,
    Reservation,
    UserStatus,
)
from biblogin.integrations.library_systems.sip2.client import (
    Deadline,
    Sip2Connection,
    Sip2Endpoint,
    Sip2MalformedAnswer,
    Sip2Message,
    client_for,
    sip2_date,
)

logger = logging.getLogger(__name__)

LANGUAGE_UNKNOWN = "000"
# Patron status (14 flags): charge, renewal, recall, hold privileges denied, card reported lost.
_BLOCKING_FLAGS = slice(0, 5)
_RENEWAL_DENIED = 1
# The summary field of 63: which one list the answer should carry.
_SUMMARY_HOLDS, _SUMMARY_CHARGED, _SUMMARY_FINES, _SUMMARY_UNAVAILABLE_HOLDS = 0, 2, 3, 5
_LIST_END = "9999"
_PATRON_INFO_FIXED = 14 + 3 + 18 + 6 * 4
_ITEM_INFO_FIXED = 2 + 2 + 2 + 18
_RENEW_FIXED = 1 + 1 + 1 + 1 + 18
_HOLD_FIXED = 1 + 1 + 18
_FINE = re.compile(r"^(?P<id>\S+)\s+(?P<amount>\d{1,9}(?:[.,]\d{1,2})?)(?:\s+(?P<text>.*))?$")
_AMOUNT = re.compile(r"^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$")


def _summary(index: int | None) -> str:
    flags = [" "] * 10
    if index is not None:
        flags[index] = "Y"
    return "".join(flags)


def _screen_message(message: Sip2Message) -> str:
    return " ".join(part.strip() for part in message.every("AF") if part.strip())


def _sip2_date_value(value: str | None, *, what: str) -> dt.date | None:
    """Read a date as servers write it: SIP2's 18 characters, or ISO; None if absent."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if re.match(r"^\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if re.match(r"^\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    raise Sip2MalformedAnswer(f"the SIP2 server sent an unreadable {what}: {text[:40]!r}")


def _amount(value: str | None) -> str:
    match = _AMOUNT.match(value or "")
    if match is None:
        return ""
    return f"{int(match.group(1))}.{(match.group(2) or '0').ljust(2, '0')}"


def _debt(value: str, *, only_total: str) -> Debt:
    """Read one fine item; SIP2 leaves its form to the server: "<id> <amount> <text>" or text."""
    match = _FINE.match(value.strip())
    if match is not None:
        return Debt(
            debt_id=match.group("id"),
            title=(match.group("text") or "").strip() or match.group("id"),
            amount_dkk=_amount(match.group("amount")),
        )
    return Debt(debt_id=value, title=value.strip(), amount_dkk=only_total)


class Sip2LibrarySystem:
    """One agency's system over SIP2; implements ``protocol.LibrarySystem``."""

    def __init__(self, *, agency_id: str, endpoint: Sip2Endpoint) -> None:
        self.agency_id = agency_id
        self.endpoint = endpoint
        self._client = client_for(endpoint)

    def __repr__(self) -> str:
        return f"Sip2LibrarySystem(agency_id={self.agency_id!r}, endpoint='{self.endpoint}')"

    # -- messages ---------------------------------------------------------------------------

    def _patron_information(
        self,
        connection: Sip2Connection,
        deadline: Deadline,
        *,
        patron: str,
        password: str | None = None,
        summary: int | None = None,
    ) -> Sip2Message:
        fields = [("AO", self.endpoint.institution_id), ("AA", patron), ("AC", "")]
        if password is not None:
            fields.append(("AD", password))
        if summary is not None:
            fields += [("BP", "1"), ("BQ", _LIST_END)]
        answer = connection.exchange(
            "63",
            LANGUAGE_UNKNOWN + sip2_date() + _summary(summary),
            fields,
            expect="64",
            fixed_length=_PATRON_INFO_FIXED,
            deadline=deadline,
        )
        valid = answer.first("BL")
        if valid not in ("Y", "N"):
            # BL is optional in SIP2: without it the server has not said who this is.
            raise Sip2MalformedAnswer(
                f"SIP2 server {self.endpoint} did not say whether the patron is valid (BL)"
                + (f": {_screen_message(answer)}" if _screen_message(answer) else "")
            )
        if valid == "N":
            raise BorrowerNotFound("unknown user or wrong PIN")
        return answer

    def _item_information(
        self, connection: Sip2Connection, deadline: Deadline, *, item: str
    ) -> Sip2Message:
        return connection.exchange(
            "17",
            sip2_date(),
            [("AO", self.endpoint.institution_id), ("AB", item), ("AC", "")],
            expect="18",
            fixed_length=_ITEM_INFO_FIXED,
            deadline=deadline,
        )

    def _borrower(self, answer: Sip2Message, *, user_id: str) -> Borrower:
        email = (answer.first("BE") or "").strip()
        return Borrower(
            borrower_ref=(answer.first("AA") or "").strip() or user_id,
            name=(answer.first("AE") or "").strip(),
            email=email,
            municipality_no=None,
            blocked="Y" in answer.fixed[_BLOCKING_FLAGS],
            emails=(email,) if email else (),
        )

    # -- borrowers ----------------------------------------------------------------------------

    def authenticate(self, *, user_id: str, password: str, timeout: float) -> Borrower:
        """Return the borrower whose ID and PIN these are, else raise ``BorrowerNotFound``."""
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                answer = self._patron_information(
                    connection, deadline, patron=user_id, password=password
                )
        except ValueError:
            # A user ID or PIN that cannot travel in SIP2 (| or CR in it) names nobody.
            raise BorrowerNotFound("unknown user or wrong PIN") from None
        valid_pin = answer.first("CQ")
        if valid_pin not in ("Y", "N"):
            # Without CQ the server has not checked the PIN: never a login on that.
            raise Sip2MalformedAnswer(
                f"SIP2 server {self.endpoint} did not say whether the PIN is valid (CQ)"
            )
        if valid_pin == "N":
            raise BorrowerNotFound("unknown user or wrong PIN")
        return self._borrower(answer, user_id=user_id)

    def lookup(self, *, user_id: str, timeout: float) -> Borrower:
        """Return the borrower with this ID (no PIN), else raise ``BorrowerNotFound``."""
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                answer = self._patron_information(connection, deadline, patron=user_id)
        except ValueError:
            raise BorrowerNotFound("unknown user") from None
        return self._borrower(answer, user_id=user_id)

    def borrowers_export(self) -> Iterator[Borrower]:
        """SIP2 has no borrower export: raise at once (R-CULR-2 needs another adapter)."""
        raise LibrarySystemUnavailable(
            f"library system {self.agency_id} speaks SIP2, which has no borrower export"
        )

    # -- loans, reservations, debts -----------------------------------------------------------

    def user_status(self, *, borrower_ref: str, timeout: float) -> UserStatus:
        """Return the borrower's loans, reservations and debts."""
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                return self._user_status(connection, deadline, borrower_ref=borrower_ref)
        except ValueError:
            raise BorrowerNotFound("no such borrower") from None

    def _user_status(
        self, connection: Sip2Connection, deadline: Deadline, *, borrower_ref: str
    ) -> UserStatus:
        def patron_list(summary: int) -> Sip2Message:
            return self._patron_information(
                connection, deadline, patron=borrower_ref, summary=summary
            )

        charged = patron_list(_SUMMARY_CHARGED)
        renewable = charged.fixed[_RENEWAL_DENIED] != "Y"
        loans = []
        for item in charged.every("AU"):
            info = self._item_information(connection, deadline, item=item)
            due = _sip2_date_value(info.first("AH"), what="due date (AH)")
            if due is None:
                raise Sip2MalformedAnswer(
                    f"SIP2 server {self.endpoint} sent a loan without a due date (AH)"
                )
            loans.append(
                Loan(
                    loan_id=item,
                    title=(info.first("AJ") or "").strip() or item,
                    due_date=due,
                    renewable=renewable,
                )
            )

        reservations = []
        for summary, ready in ((_SUMMARY_HOLDS, True), (_SUMMARY_UNAVAILABLE_HOLDS, False)):
            field_id = "AS" if ready else "CD"
            for item in patron_list(summary).every(field_id):
                info = self._item_information(connection, deadline, item=item)
                reservations.append(
                    Reservation(
                        reservation_id=item,
                        title=(info.first("AJ") or "").strip() or item,
                        ready_for_pickup=ready,
                        pickup_branch_id=(info.first("AP") or "").strip() if ready else "",
                        pickup_expires=(
                            _sip2_date_value(info.first("CM"), what="hold pickup date (CM)")
                            if ready
                            else None
                        ),
                    )
                )

        fines = patron_list(_SUMMARY_FINES)
        items = fines.every("AV")
        total = _amount(fines.first("BV")) if len(items) == 1 else ""
        debts = tuple(_debt(value, only_total=total) for value in items)
        return UserStatus(loans=tuple(loans), reservations=tuple(reservations), debts=debts)

    def loan_renew(self, *, borrower_ref: str, loan_id: str, timeout: float) -> Loan:
        """Renew one loan (29); a refusal carries the server's screen message."""
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                now = sip2_date()
                answer = connection.exchange(
                    "29",
                    "N" + "N" + now + now,
                    [
                        ("AO", self.endpoint.institution_id),
                        ("AA", borrower_ref),
                        ("AB", loan_id),
                        ("AC", ""),
                    ],
                    expect="30",
                    fixed_length=_RENEW_FIXED,
                    deadline=deadline,
                )
        except ValueError:
            raise RequestRefused(RefusalReason.LOAN_NOT_FOUND) from None
        if answer.fixed[0] != "1":
            raise RequestRefused(RefusalReason.NOT_RENEWABLE, _screen_message(answer))
        due = _sip2_date_value(answer.first("AH"), what="due date (AH)")
        if due is None:
            raise Sip2MalformedAnswer(
                f"SIP2 server {self.endpoint} renewed a loan without a new due date (AH)"
            )
        return Loan(
            loan_id=(answer.first("AB") or "").strip() or loan_id,
            title=(answer.first("AJ") or "").strip() or loan_id,
            due_date=due,
        )

    def _hold(
        self,
        connection: Sip2Connection,
        deadline: Deadline,
        *,
        mode: str,
        borrower_ref: str,
        item: str,
        pickup: str,
    ) -> Sip2Message:
        fields = [("AO", self.endpoint.institution_id), ("AA", borrower_ref)]
        if pickup:
            fields.append(("BS", pickup))
        fields += [("AB", item), ("AC", "")]
        return connection.exchange(
            "15",
            mode + sip2_date(),
            fields,
            expect="16",
            fixed_length=_HOLD_FIXED,
            deadline=deadline,
        )

    def _hold_items(
        self, connection: Sip2Connection, deadline: Deadline, *, borrower_ref: str
    ) -> list[str]:
        """The patron's hold items now: available (AS) and waiting (CD)."""
        items: list[str] = []
        for summary, field_id in ((_SUMMARY_HOLDS, "AS"), (_SUMMARY_UNAVAILABLE_HOLDS, "CD")):
            answer = self._patron_information(
                connection, deadline, patron=borrower_ref, summary=summary
            )
            items += [item.strip() for item in answer.every(field_id)]
        return items

    def reservation_cancel(self, *, borrower_ref: str, reservation_id: str, timeout: float) -> None:
        """Cancel a hold (15, mode ``-``); a refusal carries the server's screen message."""
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                answer = self._hold(
                    connection,
                    deadline,
                    mode="-",
                    borrower_ref=borrower_ref,
                    item=reservation_id,
                    pickup="",
                )
        except ValueError:
            raise RequestRefused(RefusalReason.RESERVATION_NOT_FOUND) from None
        if answer.fixed[0] != "1":
            raise RequestRefused(RefusalReason.OTHER, _screen_message(answer))

    def request_place(
        self,
        *,
        borrower_ref: str,
        idempotency_key: str,
        material_ids: Sequence[str],
        pickup_branch_id: str,
        timeout: float,
        borrower_data: Mapping[str, str] | None = None,
    ) -> RequestReceipt:
        """Place one hold (15, mode ``+``) on the first material the server accepts.

        ``borrower_data`` (R-VIP-7) is not sent: a SIP2 Hold has no fields for it, and the
        patron it names is the library's own borrower, whose details the ILS already has.

        Idempotent per key (R-ORDER-5), though SIP2 is not: the key is recorded before the
        Hold message is sent, with the patron's holds at that moment; a retry after a lost
        answer finds the hold that appeared since instead of placing another. One attempt per
        key at a time: a second one meanwhile is told the system is busy (retry later).
        """
        key = idempotency_key if isinstance(idempotency_key, str) else ""
        if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or "\x00" in key:
            raise RequestRefused(RefusalReason.INVALID_REQUEST, "idempotency key")
        wanted = list(
            dict.fromkeys(m.strip() for m in material_ids if isinstance(m, str) and m.strip())
        )
        if not wanted or len(wanted) > 25:
            raise RequestRefused(RefusalReason.MATERIAL_UNKNOWN)
        record = self._hold_record(key)
        if record.state == Sip2HoldState.PLACED:
            return _receipt(record)
        now = timezone.now()
        # Claim the attempt atomically (a conditional UPDATE): no lock is held over the network.
        claimed = (
            Sip2HoldRequest.objects.filter(pk=record.pk, state=Sip2HoldState.PLACING)
            .exclude(attempt_until__gt=now)
            .update(attempt_until=now + dt.timedelta(seconds=min(timeout, 60) + 5))
        )
        if not claimed:
            record.refresh_from_db()
            if record.state == Sip2HoldState.PLACED:
                return _receipt(record)
            raise LibrarySystemUnavailable(
                f"a hold with this key is being placed at {self.agency_id}; try again shortly"
            )
        try:
            return self._request_place(
                record,
                borrower_ref=borrower_ref,
                material_ids=wanted,
                pickup_branch_id=pickup_branch_id,
                timeout=timeout,
            )
        finally:
            Sip2HoldRequest.objects.filter(pk=record.pk).update(attempt_until=None)

    def _hold_record(self, key: str) -> Sip2HoldRequest:
        try:
            record, _created = Sip2HoldRequest.objects.get_or_create(
                agency_id=self.agency_id, idempotency_key=key
            )
        except IntegrityError:
            record = Sip2HoldRequest.objects.get(agency_id=self.agency_id, idempotency_key=key)
        return record

    def _request_place(
        self,
        record: Sip2HoldRequest,
        *,
        borrower_ref: str,
        material_ids: list[str],
        pickup_branch_id: str,
        timeout: float,
    ) -> RequestReceipt:
        try:
            with self._client.session(timeout=timeout) as (connection, deadline):
                holds_now = self._hold_items(connection, deadline, borrower_ref=borrower_ref)
                if record.holds_before is not None:
                    # An earlier attempt's answer was lost: did its hold arrive?
                    new = [item for item in holds_now if item not in set(record.holds_before)]
                    if new:
                        return self._placed(record, request_id=new[0], material_id="", queue="")
                else:
                    record.holds_before = holds_now
                    Sip2HoldRequest.objects.filter(pk=record.pk).update(holds_before=holds_now)
                refusal = RequestRefused(RefusalReason.MATERIAL_UNKNOWN)
                for material_id in material_ids:
                    answer = self._hold(
                        connection,
                        deadline,
                        mode="+",
                        borrower_ref=borrower_ref,
                        item=material_id,
                        pickup=pickup_branch_id,
                    )
                    if answer.fixed[0] == "1":
                        return self._placed(
                            record,
                            request_id=(answer.first("AB") or "").strip() or material_id,
                            material_id=material_id,
                            queue=(answer.first("BR") or "").strip(),
                        )
                    refusal = RequestRefused(RefusalReason.OTHER, _screen_message(answer))
        except ValueError:
            refusal = RequestRefused(RefusalReason.MATERIAL_UNKNOWN)
        # Nothing was placed: the key may be used again for a fresh attempt.
        record.delete()
        raise refusal

    def _placed(
        self, record: Sip2HoldRequest, *, request_id: str, material_id: str, queue: str
    ) -> RequestReceipt:
        record.state = Sip2HoldState.PLACED
        record.request_id = request_id[:100]
        record.material_id = material_id
        record.queue_position = int(queue) if queue.isdigit() and len(queue) < 9 else None
        record.save(update_fields=["state", "request_id", "material_id", "queue_position"])
        logger.info("sip2 hold placed agency=%s", self.agency_id)
        return _receipt(record)


def _receipt(record: Sip2HoldRequest) -> RequestReceipt:
    return RequestReceipt(
        request_id=record.request_id,
        material_id=record.material_id,
        queue_position=record.queue_position,
    )
