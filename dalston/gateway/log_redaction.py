"""Secrets never reach the logs: credentials in query strings are redacted.

Browsers and older clients can only put a credential in the URL (``?token=`` for
single-use tokens, ``?api_key=``, ``?authorization=``), and uvicorn writes the
full path to its access log (HTTP) and its error log (WebSocket handshakes). A
filter on those loggers rewrites each record before any handler sees it, used or
not, valid or not.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# Query parameters that carry a credential (compared case-insensitively).
SECRET_PARAMS = (
    "token",
    "api_key",
    "apikey",
    "key",
    "access_token",
    "authorization",
    "xi-api-key",
    "xi_api_key",
    "client_secret",
    "secret",
)
_SECRET_VALUE = re.compile(
    r"([?&](?:" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")=)[^&#\s\"']*",
    flags=re.IGNORECASE,
)
# Loggers that write request targets: uvicorn's access log and its WebSocket lines.
_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    """``text`` with the value of every credential query parameter replaced."""
    return _SECRET_VALUE.sub(r"\1" + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Redacts the message and each string argument in place, keeping the
    arguments' shape (uvicorn's access formatter reads them by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (once)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
