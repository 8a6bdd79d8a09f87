"""A SIP2 server for the tests and the demo, on the third-party ``pysip2`` (PyPI), never ours.

It serves one agency's simulated library system over real SIP2: ``pysip2`` does the protocol
(framing, checksums, sequence numbers, login gating, fallback answers); the handlers below only
read the simulator's tables and call the simulator, so its latency setting slows this server too.
PINs are checked with the simulator's own check (Argon2id, R-BC-5).

Item identifiers are made up here from the simulator's keys: loans ``L<id>``, holds ``R<id>``,
fines ``D<id>``; a fine item reads ``D<id> <amount> <text>``.

Never used in production: it is the stand-in for a library's own system (ILS).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hmac
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import anyio
from anyio import TASK_STATUS_IGNORED
from anyio.abc import SocketAttribute, TaskStatus
from anyio.from_thread import BlockingPortal
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from pysip2 import (
    HOLD,
    ITEM_INFORMATION,
    LOGIN,
    PATRON_INFORMATION,
    RENEW,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewRequest,
    RenewResponse,
    SIP2Server,
)

from biblogin.integrations.library_systems.models import SimBorrower, SimLoan, SimReservation
from biblogin.integrations.library_systems.pins import pin_verify
from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemError,
    RefusalReason,
    RequestRefused,
)
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem

logger = logging.getLogger(__name__)

ENCODING = "cp850"
# How long the simulator may take per call here; its latency setting is what makes us slow.
SIMULATOR_BUDGET_SECONDS = 600.0
_STOP_GRACE_SECONDS = 30.0


# What a Danish ILS's screen message (AF) says for each refusal: SIP2 carries text, not codes.
_SCREEN = {
    RefusalReason.LOAN_NOT_FOUND: "Lånet findes ikke.",
    RefusalReason.NOT_RENEWABLE: "Lånet kan ikke fornys.",
    RefusalReason.BORROWER_BLOCKED: "Du er spærret.",
    RefusalReason.RESERVATION_NOT_FOUND: "Reserveringen findes ikke.",
    RefusalReason.MATERIAL_UNKNOWN: "Ukendt materiale.",
    RefusalReason.PICKUP_BRANCH_UNKNOWN: "Ukendt afhentningssted.",
    RefusalReason.ALREADY_RESERVED: "Du har allerede reserveret dette materiale.",
}


def _screen(refused: RequestRefused) -> str:
    return _SCREEN.get(refused.code, refused.detail or "Afvist.")


def _text(value: str) -> str:
    """Make a value travel in SIP2: in cp850, without delimiters, at most 255 bytes."""
    cleaned = value.replace("|", "/").replace("\r", " ").replace("\n", " ").replace("\x00", "")
    return cleaned.encode(ENCODING, "replace")[:255].decode(ENCODING, "ignore")


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d") + "    " + "235959"


def _count(n: int) -> str:
    return f"{min(n, 9999):04d}"


def _pk(item: str, prefix: str) -> int | None:
    digits = item[len(prefix) :]
    if item.startswith(prefix) and digits.isascii() and digits.isdigit() and len(digits) < 18:
        return int(digits)
    return None


class Sip2TestServer:
    """One agency's simulated system behind a ``pysip2`` server on loopback.

    ``shared_connection`` (tests): the handlers use this database connection, one at a time,
    so that a test's uncommitted data is what the server serves.
    """

    def __init__(
        self,
        *,
        agency_id: str,
        institution_id: str,
        login_user: str = "",
        login_password: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        shared_connection: BaseDatabaseWrapper | None = None,
    ) -> None:
        self.agency_id = agency_id
        self.institution_id = institution_id
        self.host = host
        self.port = port
        self._login = (login_user, login_password)
        self._shared = shared_connection
        self._simulator = SimulatedLibrarySystem(agency_id=agency_id)
        self._serialise = threading.Lock()
        self._inflight = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._serving: concurrent.futures.Future[None] | None = None
        self.app = SIP2Server(
            institution_id=institution_id,
            library_name=f"Simulated library system {agency_id}",
            encoding=ENCODING,
            login_required=bool(login_user),
        )
        self.app.route(LOGIN)(self._guarded(self._handle_login))
        self.app.route(PATRON_INFORMATION)(self._guarded(self._handle_patron_information))
        self.app.route(ITEM_INFORMATION)(self._guarded(self._handle_item_information))
        self.app.route(RENEW)(self._guarded(self._handle_renew))
        self.app.route(HOLD)(self._guarded(self._handle_hold))

    # -- running ------------------------------------------------------------------------------

    def start(self) -> int:
        """Start serving in a background thread; return the bound port."""
        ready = threading.Event()

        def loop() -> None:
            async def main() -> None:
                async with BlockingPortal() as portal:
                    self._portal = portal
                    ready.set()
                    await portal.sleep_until_stopped()

            anyio.run(main)

        # A daemon thread of our own: a process that forgets to stop us still exits.
        self._thread = threading.Thread(target=loop, name="sip2-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        assert self._portal is not None
        self._serving, self.port = self._portal.start_task(self._serve)
        if self._shared is not None:
            self._shared.inc_thread_sharing()
        logger.info("SIP2 test server for %s on %s:%s", self.agency_id, self.host, self.port)
        return self.port

    async def _serve(self, *, task_status: TaskStatus[int] = TASK_STATUS_IGNORED) -> None:
        # Our own listener, closed when we stop: pysip2 0.1.0's start() leaves its listening
        # socket open after it exits, so a stopped server would still accept connections.
        listener = await self.app.listen(self.host, self.port)
        async with listener:
            task_status.started(listener.extra(SocketAttribute.local_port))  # noqa: S610 - anyio
            await listener.serve(self.app._handle_connection)

    def wait_idle(self, timeout: float = _STOP_GRACE_SECONDS) -> None:
        """Wait until no handler runs (one may outlive a client that gave up waiting)."""
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=timeout)

    def stop(self) -> None:
        """Stop serving, after the handlers that run have finished (they may use the database)."""
        self._stopping.set()
        self.wait_idle()
        if self._serving is not None:
            self._serving.cancel()
            with contextlib.suppress(concurrent.futures.CancelledError):
                self._serving.result(timeout=_STOP_GRACE_SECONDS)
            self._serving = None
        if self._portal is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._portal.call(self._portal.stop, True)
            self._portal = None
        if self._thread is not None:
            self._thread.join(timeout=_STOP_GRACE_SECONDS)
            self._thread = None
        if self._shared is not None:
            self._shared.dec_thread_sharing()
            self._shared = None

    def __enter__(self) -> Sip2TestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _guarded(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(request: Any, ctx: Any) -> Any:
            if self._stopping.is_set():
                return ctx.decline("SYSTEM STOPPING")
            with self._idle:
                self._inflight += 1
            try:
                with self._database():
                    return handler(request, ctx)
            finally:
                with self._idle:
                    self._inflight -= 1
                    self._idle.notify_all()

        return run

    @contextlib.contextmanager
    def _database(self) -> Iterator[None]:
        if self._shared is None:
            close_old_connections()
            try:
                yield
            finally:
                close_old_connections()
            return
        with self._serialise:
            connections[DEFAULT_DB_ALIAS] = self._shared
            yield

    # -- borrowers ----------------------------------------------------------------------------

    def _borrower(self, patron: str) -> SimBorrower | None:
        """The borrower a patron identifier names: their reference, or any of their user IDs."""
        if not patron:
            return None
        by_ref = SimBorrower.objects.filter(
            system__agency_id=self.agency_id, borrower_ref=patron
        ).first()
        if by_ref is not None:
            return by_ref
        try:
            found = self._simulator.lookup(user_id=patron, timeout=SIMULATOR_BUDGET_SECONDS)
        except BorrowerNotFound:
            return None
        return SimBorrower.objects.filter(
            system__agency_id=self.agency_id, borrower_ref=found.borrower_ref
        ).first()

    def _handle_login(self, req: LoginRequest, ctx: Any) -> LoginResponse:
        user, password = self._login
        ok = hmac.compare_digest(req.login_user_id.encode(), user.encode()) & hmac.compare_digest(
            req.login_password.encode(), password.encode()
        )
        return LoginResponse(ok="1" if ok else "0")

    def _handle_patron_information(
        self, req: PatronInformationRequest, ctx: Any
    ) -> PatronInformationResponse:
        if req.institution_id != self.institution_id:
            return cast(PatronInformationResponse, ctx.decline("UNKNOWN INSTITUTION"))
        try:
            borrower = self._borrower(req.patron_identifier)
        except LibrarySystemError as exc:
            # The system behind us is down or slow: say so, without claiming who is valid.
            return self._patron_answer(req, borrower=None, valid=None, message=str(exc))
        pin_ok: bool | None = None
        if req.patron_password is not None:
            # R-BC-2: an unknown patron costs one PIN verification too.
            pin_ok = pin_verify(
                stored_hash=borrower.pin_hash if borrower else None, pin=req.patron_password
            )
        if borrower is None:
            return self._patron_answer(req, borrower=None, valid="N", pin_ok=pin_ok)
        return self._patron_answer(req, borrower=borrower, valid="Y", pin_ok=pin_ok)

    def _patron_answer(
        self,
        req: PatronInformationRequest,
        *,
        borrower: SimBorrower | None,
        valid: str | None,
        pin_ok: bool | None = None,
        message: str = "",
    ) -> PatronInformationResponse:
        lists: dict[str, tuple[str, ...]] = {}
        counts = dict.fromkeys(("hold", "overdue", "charged", "fine", "recall", "holds_n"), 0)
        total = ""
        # Wrong PIN: who they are, but nothing of what they have.
        if borrower is not None and pin_ok is not False:
            try:
                status = self._simulator.user_status(
                    borrower_ref=borrower.borrower_ref, timeout=SIMULATOR_BUDGET_SECONDS
                )
            except LibrarySystemError as exc:
                return self._patron_answer(req, borrower=None, valid=None, message=str(exc))
            today = timezone.localdate()
            ready = [r for r in status.reservations if r.ready_for_pickup]
            waiting = [r for r in status.reservations if not r.ready_for_pickup]
            counts = {
                "hold": len(ready),
                "overdue": sum(1 for loan in status.loans if loan.due_date < today),
                "charged": len(status.loans),
                "fine": len(status.debts),
                "recall": 0,
                "holds_n": len(waiting),
            }
            total = f"{sum(float(d.amount_dkk) for d in status.debts):.2f}"
            wanted = req.summary.find("Y")
            if wanted == 0:
                lists["hold_items"] = tuple(f"R{r.reservation_id}" for r in ready)
            elif wanted == 1:
                lists["overdue_items"] = tuple(
                    f"L{loan.loan_id}" for loan in status.loans if loan.due_date < today
                )
            elif wanted == 2:
                lists["charged_items"] = tuple(f"L{loan.loan_id}" for loan in status.loans)
            elif wanted == 3:
                lists["fine_items"] = tuple(
                    _text(f"D{d.debt_id} {d.amount_dkk} {d.title}") for d in status.debts
                )
            elif wanted == 5:
                lists["unavailable_hold_items"] = tuple(f"R{r.reservation_id}" for r in waiting)
        blocked = borrower is not None and borrower.blocked
        return PatronInformationResponse(
            patron_status=("YYYY" if blocked else "    ") + " " * 10,
            language=req.language,
            transaction_date=_now(),
            hold_items_count=_count(counts["hold"]),
            overdue_items_count=_count(counts["overdue"]),
            charged_items_count=_count(counts["charged"]),
            fine_items_count=_count(counts["fine"]),
            recall_items_count=_count(counts["recall"]),
            unavailable_holds_count=_count(counts["holds_n"]),
            institution_id=self.institution_id,
            patron_identifier=borrower.borrower_ref if borrower else req.patron_identifier,
            personal_name=_text(borrower.name) if borrower else "",
            valid_patron=valid,
            valid_patron_password=None if pin_ok is None else ("Y" if pin_ok else "N"),
            currency_type="DKK" if total else None,
            fee_amount=total or None,
            email_address=_text(borrower.email) if borrower and borrower.email else None,
            screen_message=(_text(message),) if message else (),
            hold_items=lists.get("hold_items", ()),
            overdue_items=lists.get("overdue_items", ()),
            charged_items=lists.get("charged_items", ()),
            fine_items=lists.get("fine_items", ()),
            unavailable_hold_items=lists.get("unavailable_hold_items", ()),
        )

    # -- items --------------------------------------------------------------------------------

    def _handle_item_information(
        self, req: ItemInformationRequest, ctx: Any
    ) -> ItemInformationResponse:
        item = req.item_identifier
        loan_pk, hold_pk = _pk(item, "L"), _pk(item, "R")
        loan = (
            SimLoan.objects.filter(pk=loan_pk, borrower__system__agency_id=self.agency_id).first()
            if loan_pk is not None
            else None
        )
        if loan is not None:
            return ItemInformationResponse(
                circulation_status="04",  # charged
                security_marker="00",
                fee_type="01",
                transaction_date=_now(),
                due_date=_date(loan.due_date),
                item_identifier=item,
                title_identifier=_text(loan.title),
            )
        hold = (
            SimReservation.objects.filter(
                pk=hold_pk, borrower__system__agency_id=self.agency_id
            ).first()
            if hold_pk is not None
            else None
        )
        if hold is not None:
            return ItemInformationResponse(
                circulation_status="08" if hold.ready_for_pickup else "02",
                security_marker="00",
                fee_type="01",
                transaction_date=_now(),
                hold_pickup_date=(
                    _date(hold.pickup_expires)
                    if hold.ready_for_pickup and hold.pickup_expires
                    else None
                ),
                item_identifier=item,
                title_identifier=_text(hold.title),
                current_location=(hold.pickup_branch_id or None if hold.ready_for_pickup else None),
            )
        return cast(ItemInformationResponse, ctx.decline("UNKNOWN ITEM"))

    # -- renew, holds -------------------------------------------------------------------------

    def _handle_renew(self, req: RenewRequest, ctx: Any) -> RenewResponse:
        def answer(ok: bool, *, title: str = "", due: str = "", message: str = "") -> RenewResponse:
            return RenewResponse(
                ok="1" if ok else "0",
                renewal_ok="Y" if ok else "N",
                magnetic_media="U",
                desensitize="U",
                transaction_date=_now(),
                institution_id=self.institution_id,
                patron_identifier=req.patron_identifier,
                item_identifier=req.item_identifier or "",
                title_identifier=_text(title),
                due_date=due,
                screen_message=(_text(message),) if message else (),
            )

        if req.institution_id != self.institution_id:
            return answer(False, message="Unknown institution")
        try:
            borrower = self._borrower(req.patron_identifier)
            if borrower is None:
                return answer(False, message="Unknown patron")
            loan_pk = _pk(req.item_identifier or "", "L")
            loan = self._simulator.loan_renew(
                borrower_ref=borrower.borrower_ref,
                loan_id=str(loan_pk) if loan_pk is not None else "",
                timeout=SIMULATOR_BUDGET_SECONDS,
            )
        except RequestRefused as exc:
            return answer(False, message=_screen(exc))
        except LibrarySystemError as exc:
            return answer(False, message=str(exc))
        return answer(True, title=loan.title, due=_date(loan.due_date))

    def _handle_hold(self, req: HoldRequest, ctx: Any) -> HoldResponse:
        def answer(
            ok: bool, *, item: str = "", queue: int | None = None, message: str = ""
        ) -> HoldResponse:
            return HoldResponse(
                ok="1" if ok else "0",
                available="N",
                transaction_date=_now(),
                queue_position=str(queue) if queue is not None else None,
                pickup_location=req.pickup_location,
                institution_id=self.institution_id,
                patron_identifier=req.patron_identifier,
                item_identifier=item or req.item_identifier,
                title_identifier=req.title_identifier,
                screen_message=(_text(message),) if message else (),
            )

        if req.institution_id != self.institution_id:
            return answer(False, message="Unknown institution")
        item = (req.item_identifier or req.title_identifier or "").strip()
        try:
            borrower = self._borrower(req.patron_identifier)
            if borrower is None:
                return answer(False, message="Unknown patron")
            if req.hold_mode == "+":
                receipt = self._simulator.request_place(
                    borrower_ref=borrower.borrower_ref,
                    # A SIP2 hold has no key: every Hold message is a new request, as in an ILS.
                    idempotency_key=uuid.uuid4().hex,
                    material_ids=[item],
                    pickup_branch_id=req.pickup_location or "",
                    timeout=SIMULATOR_BUDGET_SECONDS,
                )
                return answer(True, item=f"R{receipt.request_id}", queue=receipt.queue_position)
            if req.hold_mode == "-":
                hold_pk = _pk(item, "R")
                if hold_pk is None:
                    # A hold named by its material, as a real ILS would.
                    by_material = SimReservation.objects.filter(
                        borrower=borrower, material_id=item
                    ).first()
                    hold_pk = by_material.pk if by_material else None
                self._simulator.reservation_cancel(
                    borrower_ref=borrower.borrower_ref,
                    reservation_id=str(hold_pk) if hold_pk is not None else "",
                    timeout=SIMULATOR_BUDGET_SECONDS,
                )
                return answer(True)
            return answer(False, message="Hold changes are not supported")
        except RequestRefused as exc:
            return answer(False, message=_screen(exc))
        except LibrarySystemError as exc:
            return answer(False, message=str(exc))


def _now() -> str:
    now = dt.datetime.now()
    return now.strftime("%Y%m%d") + "    " + now.strftime("%H%M%S")
