"""A log filter that keeps personal data and one-time secrets out of log lines (R-CULR-5, R-SEC-2).

Applied to every handler of ours and to the loggers that write request lines (Django's
``django.server`` and ``django.request``, the HTTP server's access logger): it masks anything
shaped like a CPR, also URL-encoded in a query string (``?q=150385%201234``), and drops the values
of OAuth/OIDC parameters that are secrets or identify the user (``code``, ``state``,
``login_hint``, ``id_token_hint`` …).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from biblogin.common.cpr import mask_cprs_in_text

# One-time secrets (a code or state in a log lets its reader finish someone's login), tokens,
# and hints that name the user. Their values never reach a log line.
DROPPED_PARAMETERS = frozenset(
    {
        "code",
        "state",
        "session_state",
        "login_hint",
        "id_token_hint",
        "access_token",
        "refresh_token",
        "token",
        "client_secret",
        "code_verifier",
        "password",
        "pin",
    }
)
DROPPED = "[filtered]"
# A query string in a line: after "?", up to a space, quote or angle bracket.
_QUERY = re.compile(r"\?([^\s\"'<>]*)")
# The access-log fields that hold a bare query string (granian: query_string, gunicorn: q).
_QUERY_FIELDS = frozenset({"query_string", "q"})


def mask_query_string(query: str) -> str:
    """Return the query with secret parameters' values dropped and CPR-shaped values masked."""
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        key = unquote_plus(name).strip().lower()
        if sep and key in DROPPED_PARAMETERS:
            parts.append(f"{name}={DROPPED}")
            continue
        decoded = unquote_plus(value if sep else name)
        masked = mask_cprs_in_text(decoded)
        if masked == decoded:
            parts.append(part)
        elif sep:
            parts.append(f"{name}={quote_plus(masked, safe='-')}")
        else:
            parts.append(quote_plus(masked, safe="-"))
    return "&".join(parts)


def mask_log_text(text: str) -> str:
    """Mask CPRs and drop secret parameters in a log line (its query strings decoded first)."""
    text = _QUERY.sub(lambda m: "?" + mask_query_string(m.group(1)), text)
    return mask_cprs_in_text(text)


def _masked_arg(key: object, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return mask_query_string(value) if key in _QUERY_FIELDS else mask_log_text(value)


class MaskCprFilter(logging.Filter):
    """Mask personal data in the record's message before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            fields = isinstance(record.args, Mapping)
            if fields:
                # Access loggers pass their fields as one mapping (the query apart from the path).
                record.args = {k: _masked_arg(k, v) for k, v in record.args.items()}  # type: ignore[union-attr]
            message = record.getMessage()
        except Exception:
            return True
        masked = mask_log_text(message)
        if fields or masked != message:
            record.msg, record.args = masked, None
        return True
