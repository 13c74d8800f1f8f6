"""Keep credentials out of the server's log: uvicorn writes each WebSocket connection (and, with
access logs on, each request) with its query string, e.g. ``/v1/notifications/ws?access_token=...``.

``RedactSecrets`` is a ``logging.Filter`` installed on uvicorn's handlers by ``imagify serve``
(``log_config``): the values of credential-bearing query parameters become ``[redacted]``, the
rest of the line (client, path, status) is kept, so connections are still logged.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

# query parameters that carry a credential: access tokens, signed download links, VNPAY signatures
SECRET_PARAMS = ("access_token", "token", "sig", "signature", "vnp_SecureHash")
REDACTED = "[redacted]"
_PATTERN = re.compile(r"(?i)([?&](?:" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")=)[^&\s\"']*")


def redact(text: str) -> str:
    """``text`` with the value of every credential query parameter replaced by ``[redacted]``."""
    return _PATTERN.sub(r"\1" + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Redacts the message and its arguments in place (arguments keep their types and positions, so
    uvicorn's access formatter, which reads them, still works). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with ``RedactSecrets`` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in cfg["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return cfg
