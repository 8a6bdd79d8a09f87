"""R-CULR-5, R-SEC-2: no CPR, code or state in the request lines the servers and Django log.

The records are made by the servers' own code (granian's access-log builder, Django's
runserver handler format) and go through the loggers as settings.LOGGING configured them.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biblogin.common import logging as log_masking

CPR = "1503851234"


@contextmanager
def lines_of(logger_name: str) -> Iterator[io.StringIO]:
    """What reaches a handler of this logger (after the logger's own filters)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def granian_access_line(path: str, query: str) -> str:
    from granian.log import log_request_builder

    log_request = log_request_builder(
        '%(addr)s - "%(method)s %(path)s?%(query_string)s %(protocol)s" %(status)d '
        '"%(header{referer})s"'
    )
    request = {
        "addr_remote": "127.0.0.1",
        "path": path,
        "qs": query,
        "method": "GET",
        "scheme": "http",
        "protocol": "HTTP/1.1",
        "headers": lambda name: f"http://localhost{path}?{query}" if name == "referer" else None,
    }
    with lines_of("granian.access") as out:
        log_request(time.time(), time.perf_counter(), request, 200)
    return out.getvalue()


@pytest.mark.parametrize(
    "query",
    [
        f"q={CPR}",
        "q=150385-1234",
        "q=150385+1234",
        "q=150385%201234",
        "q=15+03+85+12+34",
        "q=150385%E2%80%931234",  # an en dash, as phones type it
        "login_hint=150385-1234&prompt=login",
    ],
)
def test_a_cpr_typed_into_a_search_or_hint_is_masked_in_the_access_log_R_SEC_2(query):
    line = granian_access_line("/soeg/", query)
    assert "1234" not in line, line
    assert "/soeg/?" in line and " 200 " in line


def test_codes_and_states_never_reach_the_access_log_R_SEC_2():
    """RFC 9700 §4.2.4: a code or state in a log lets its reader finish someone's login."""
    line = granian_access_line(
        "/auth/callback/", "code=S3cr3tC0de&state=St4te&iss=http%3A%2F%2Flocalhost%2Flogin"
    )
    assert "S3cr3tC0de" not in line and "St4te" not in line, line
    assert "code=[filtered]&state=[filtered]&iss=" in line


def test_gunicorn_style_access_fields_are_masked_too_R_SEC_2():
    atoms = {"r": f"GET /soeg/?q={CPR}&state=abc HTTP/1.1", "q": f"q={CPR}&state=abc", "s": "200"}
    with lines_of("gunicorn.access") as out:
        logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s %(q)s', atoms)
    assert CPR not in out.getvalue() and "abc" not in out.getvalue()


def test_djangos_request_lines_are_masked_R_SEC_2():
    """runserver's access lines (django.server) and Django's request warnings (django.request)."""
    with lines_of("django.server") as server, lines_of("django.request") as request:
        logging.getLogger("django.server").info(
            '"%s" %s %s', "GET /soeg/?q=150385+1234&code=xyz HTTP/1.1", "200", "512"
        )
        logging.getLogger("django.request").warning("Not Found: %s", f"/profil/{CPR}/")
    assert "1234" not in server.getvalue() and "xyz" not in server.getvalue()
    assert CPR not in request.getvalue() and "150385-XXXX" in request.getvalue()


@given(st.text(max_size=80))
def test_masking_any_query_never_raises(query):
    log_masking.mask_query_string(query)
    log_masking.mask_log_text(f"GET /?{query} HTTP/1.1")
