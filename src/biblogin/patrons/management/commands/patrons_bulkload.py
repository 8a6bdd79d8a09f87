"""Bulk-load synthetic patrons into the user register (CULR), for benchmarks at scale.

Each synthetic patron has a valid CPR (a real date; generated, so no real person's number is
meant), stored as CULR stores every CPR (R-CULR-5: encrypted, found through its keyed hash), a
home municipality, and one CPR account at one synthetic agency. The agency's accounts are what
makes a patron synthetic: ``--reset`` removes exactly those patrons.

Idempotent: ``--count N`` makes the agency hold (at least) N synthetic patrons; running it again
adds none. The rate printed is patrons (each with its account) created per second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import time
import uuid
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

from biblogin.common.cpr_crypto import cpr_hash, encrypt_cpr
from biblogin.common.errors import ApplicationError
from biblogin.patrons.inputs import parse_agency_id
from biblogin.patrons.models import Account, AccountIdType, Patron

# Not a library of the registry: 7<municipality>00 with municipality 999, which does not exist.
DEFAULT_AGENCY_ID = "799900"
DEFAULT_BATCH_SIZE = 20_000
# Dates of birth 1920-01-01 ... 1999-12-31; the 7th digit 0-3 puts them in the 1900s.
_FIRST_BIRTH_DATE = dt.date(1920, 1, 1)
_BIRTH_DAYS = (dt.date(2000, 1, 1) - _FIRST_BIRTH_DATE).days
# Below SQLite's oldest limit of 999 parameters per statement.
_LOOKUP_CHUNK = 900
_INSERT_ROWS = 140  # x 7 columns
_SERIALS = 4000  # serial numbers 0000-3999 (7th digit 0-3)
MAX_SYNTHETIC = _BIRTH_DAYS * _SERIALS
# Real municipality numbers, so that the patrons look like the ones public libraries deliver.
_MUNICIPALITIES = (101, 147, 151, 153, 157, 159, 161, 163, 165, 167, 461, 561, 615, 751, 851)


def synthetic_cpr(index: int) -> str:
    """Return the ``index``-th synthetic CPR: distinct for every index below MAX_SYNTHETIC."""
    if not 0 <= index < MAX_SYNTHETIC:
        raise ValueError("index out of range")
    day, k = index % _BIRTH_DAYS, index // _BIRTH_DAYS
    born = _FIRST_BIRTH_DATE + dt.timedelta(days=day)
    # A bijection of 0..3999 for each day (7919 is prime to 4000): serials look spread out.
    serial = (k * 7919 + day) % _SERIALS
    return f"{born:%d%m%y}{serial:04d}"


@dataclass(frozen=True)
class BulkLoadReport:
    requested: int
    existing: int
    created: int
    skipped: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.created / self.seconds if self.seconds > 0 else 0.0


def _synthetic_count(agency_id: str) -> int:
    return Account.objects.filter(agency_id=agency_id, id_type=AccountIdType.CPR).count()


# (guid as stored, encrypted CPR, CPR hash, municipality)
Row = tuple[str | uuid.UUID, str, str, int]


def _batch_rows(start: int, size: int, hex_guid: bool) -> list[Row]:
    """Make the rows of indexes start..start+size-1: CPR, its ciphertext and keyed hash.

    Runs in the worker processes: the AES-GCM and HMAC of R-CULR-5 are most of the CPU.
    """
    rows: list[Row] = []
    for index in range(start, min(start + size, MAX_SYNTHETIC)):
        cpr = synthetic_cpr(index)
        guid = uuid.uuid4()
        rows.append(
            (
                guid.hex if hex_guid else guid,
                encrypt_cpr(cpr),
                cpr_hash(cpr),
                _MUNICIPALITIES[index % len(_MUNICIPALITIES)],
            )
        )
    return rows


def _submit(
    pool: ProcessPoolExecutor | None, start: int, size: int, hex_guid: bool
) -> Future[list[Row]]:
    """Compute a batch in the pool, or here and now without one."""
    if pool is not None:
        return pool.submit(_batch_rows, start, size, hex_guid)
    done: Future[list[Row]] = Future()
    done.set_result(_batch_rows(start, size, hex_guid))
    return done


def _started(_index: int) -> None:
    """Nothing: make a pool worker exist."""


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise LookupError(f"{model.__name__}.{name} is not a column")
    return connection.ops.quote_name(field.column)


def _columns(model: type[Model], names: tuple[str, ...]) -> str:
    return ", ".join(_column(model, n) for n in names)


def _taken(digests: list[str]) -> set[str]:
    """Return the CPR hashes among these that CULR already holds."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_column(Patron, 'cpr_hash')} "  # noqa: S608 - names from _meta
                f"FROM {connection.ops.quote_name(Patron._meta.db_table)} "
                f"WHERE {_column(Patron, 'cpr_hash')} = ANY(%s)",
                [digests],
            )
            return {str(row[0]) for row in cursor.fetchall()}
    found: set[str] = set()
    for at in range(0, len(digests), _LOOKUP_CHUNK):
        chunk = digests[at : at + _LOOKUP_CHUNK]
        hashes = Patron.objects.filter(cpr_hash__in=chunk).values_list("cpr_hash", flat=True)
        found.update(h for h in hashes if h)
    return found


@transaction.atomic
def _batch_insert(agency_id: str, rows: list[Row], limit: int) -> tuple[int, int]:
    """Insert up to ``limit`` patrons of a batch, with their accounts; skip CPRs CULR has.

    COPY on PostgreSQL, plain parameterised multi-row INSERTs on SQLite, through Django's
    connection: the ORM's ``bulk_create`` spends ~50 us of Python per object compiling SQL (a
    million patrons took minutes), and one statement per row is a round trip each on PostgreSQL.
    Each account finds its patron through the unique CPR hash just inserted.
    """
    taken = _taken([digest for _guid, _enc, digest, _m in rows])
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    fresh = [row for row in rows if row[2] not in taken]
    patrons = [(guid, enc, digest, m, True, now, now) for guid, enc, digest, m in fresh[:limit]]
    cpr_type = str(AccountIdType.CPR.value)
    patron_table = connection.ops.quote_name(Patron._meta.db_table)
    account_table = connection.ops.quote_name(Account._meta.db_table)
    patron_columns = _columns(
        Patron,
        ("guid", "cpr_encrypted", "cpr_hash", "municipality_no", "is_active", "created_at",
         "updated_at"),
    )  # fmt: skip
    account_columns = _columns(
        Account, ("patron", "agency_id", "id_type", "local_id", "created_at", "updated_at")
    )
    patron_id = _column(Patron, "id")
    hash_column = _column(Patron, "cpr_hash")
    digests = [row[2] for row in patrons]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: PostgreSQL's own bulk path, many times faster than INSERT statements.
            with cursor.cursor.copy(f"COPY {patron_table} ({patron_columns}) FROM STDIN") as copy:
                for patron_row in patrons:
                    copy.write_row(patron_row)
            cursor.execute(
                f"INSERT INTO {account_table} ({account_columns}) "  # noqa: S608 - _meta
                f"SELECT {patron_id}, %s, %s, '', %s, %s FROM {patron_table} "
                f"WHERE {hash_column} = ANY(%s)",
                [agency_id, cpr_type, now, now, digests],
            )
            return len(patrons), len(rows) - len(fresh)
        for at in range(0, len(patrons), _INSERT_ROWS):
            chunk = patrons[at : at + _INSERT_ROWS]
            params: list[Any] = [value for row in chunk for value in row]
            cursor.execute(
                f"INSERT INTO {patron_table} ({patron_columns}) VALUES "  # noqa: S608 - _meta
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk)),
                params,
            )
        for at in range(0, len(digests), _LOOKUP_CHUNK):
            chunk_digests = digests[at : at + _LOOKUP_CHUNK]
            cursor.execute(
                f"INSERT INTO {account_table} ({account_columns}) "  # noqa: S608
                f"SELECT {patron_id}, %s, %s, '', %s, %s FROM {patron_table} "
                f"WHERE {hash_column} IN ({', '.join(['%s'] * len(chunk_digests))})",
                [agency_id, cpr_type, now, now, *chunk_digests],
            )
    return len(patrons), len(rows) - len(fresh)


def synthetic_patrons_load(
    *,
    count: int,
    agency_id: str = DEFAULT_AGENCY_ID,
    batch_size: int = DEFAULT_BATCH_SIZE,
    jobs: int = 1,
) -> BulkLoadReport:
    """Make ``agency_id`` hold at least ``count`` synthetic patrons (one CPR account each).

    ``jobs`` > 1: that many processes compute the batches ahead while this one inserts.
    """
    started = time.perf_counter()
    existing = _synthetic_count(agency_id)
    hex_guid = not connection.features.has_native_uuid_field
    created = skipped = 0
    # Earlier runs filled the indexes in order, so the first ``existing`` are taken; CPRs
    # held by other patrons are skipped, so the scan may go beyond ``count``.
    starts = iter(range(existing, MAX_SYNTHETIC, batch_size))
    # Inside a caller's transaction (tests) the connection must stay open: no fork then.
    workers = max(1, jobs) if not connection.in_atomic_block else 1
    with contextlib.ExitStack() as stack:
        pool: ProcessPoolExecutor | None = None
        if workers > 1:
            # Fork: the workers inherit the configured settings (the CPR key). No connection
            # may be open across the fork; the workers never use the database.
            connection.close()
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=workers, mp_context=multiprocessing.get_context("fork")
                )
            )
            list(pool.map(_started, range(workers)))  # all forked now, before the DB opens
        if connection.vendor == "sqlite":
            # A big page cache for this connection: the two unique indexes (guid, CPR hash)
            # take random-order inserts, and a small cache rereads their pages for every row.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")  # KiB: 256 MiB
        pending: deque[Future[list[Row]]] = deque()
        ahead = workers + 1 if pool is not None else 1  # batches computed before they are due
        while existing + created < count:
            while len(pending) < ahead and (start := next(starts, None)) is not None:
                pending.append(_submit(pool, start, batch_size, hex_guid))
            if not pending:
                break
            rows = pending.popleft().result()
            made, already = _batch_insert(agency_id, rows, count - existing - created)
            created += made
            skipped += already
        for future in pending:
            future.cancel()
    return BulkLoadReport(
        requested=count,
        existing=existing,
        created=created,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )


@transaction.atomic
def synthetic_patrons_reset(*, agency_id: str = DEFAULT_AGENCY_ID) -> int:
    """Delete the synthetic patrons: those whose only accounts are at ``agency_id``."""
    patron_table = Patron._meta.db_table
    account_table = Account._meta.db_table
    with connection.cursor() as cursor:
        # Plain SQL: the ORM's cascade would load a million rows into memory first. Nothing
        # but accounts refers to a patron, and these patrons have no account elsewhere.
        cursor.execute(
            f"DELETE FROM {patron_table} WHERE id IN "  # noqa: S608 - table names from _meta
            f"(SELECT patron_id FROM {account_table} WHERE agency_id = %s) "
            f"AND id NOT IN (SELECT patron_id FROM {account_table} WHERE agency_id <> %s)",
            [agency_id, agency_id],
        )
        deleted = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {account_table} WHERE agency_id = %s "  # noqa: S608
            f"AND patron_id NOT IN (SELECT id FROM {patron_table})",
            [agency_id],
        )
    return int(deleted)


class Command(BaseCommand):
    help = (
        "Load synthetic patrons (valid generated CPRs, encrypted, one CPR account each at a "
        "synthetic agency) into the user register; idempotent. For benchmarks, never production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--count", type=int, default=10_000, help="synthetic patrons the agency should hold"
        )
        parser.add_argument(
            "--agency",
            default=DEFAULT_AGENCY_ID,
            help=f"the synthetic agency's 6-digit ID (default {DEFAULT_AGENCY_ID})",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            help="processes that compute CPRs, ciphertexts and hashes (default: cores)",
        )
        parser.add_argument(
            "--reset", action="store_true", help="first delete this agency's synthetic patrons"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            agency_id = parse_agency_id(options["agency"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        count, batch_size = options["count"], options["batch_size"]
        if not 0 <= count <= MAX_SYNTHETIC:
            raise CommandError(f"--count must be between 0 and {MAX_SYNTHETIC}.")
        if not 1 <= batch_size <= 50_000:
            raise CommandError("--batch-size must be between 1 and 50000.")
        if not 1 <= options["jobs"] <= 64:
            raise CommandError("--jobs must be between 1 and 64.")
        if options["reset"]:
            started = time.perf_counter()
            deleted = synthetic_patrons_reset(agency_id=agency_id)
            self.stdout.write(
                f"Reset: {deleted} synthetic patrons at {agency_id} deleted "
                f"in {time.perf_counter() - started:.1f} s."
            )
        report = synthetic_patrons_load(
            count=count, agency_id=agency_id, batch_size=batch_size, jobs=options["jobs"]
        )
        self.stdout.write(
            f"Synthetic patrons at {agency_id}: {report.existing + report.created} "
            f"({report.existing} already there, {report.created} created, {report.skipped} CPRs "
            f"skipped as taken) in {report.seconds:.1f} s: {report.rate:.0f} patrons/s."
        )
