"""A log filter that masks anything shaped like a CPR number (R-CULR-5, R-SEC-2)."""

from __future__ import annotations

import logging

from biblogin.common.cpr import mask_cprs_in_text


class MaskCprFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_cprs_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
