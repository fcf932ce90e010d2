"""Structured logs: one JSON object per line, with every secret the process has decrypted redacted.

Hub never logs connector configs, but a library's error message can quote a URL or a header; the
``Redactor`` replaces any known secret value (registered when a connector is built) wherever it
appears in a log record, message and arguments included.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

REDACTED = "[redacted]"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Redactor(logging.Filter):
    """A filter that blanks out registered secret strings in every record it sees."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: object) -> None:
        """Register secret values (short ones are ignored: they would blank out ordinary words)."""
        with self._lock:
            self._secrets.update(str(v) for v in values if v is not None and len(str(v)) >= 4)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.scrub(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["error"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "INFO", json_lines: bool = True, stream: Any = None) -> Redactor:
    """Send Hub's logs to ``stream`` (stderr) as JSON lines through a redactor; returns the redactor."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    redactor = Redactor()
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_hub", False)]
    handler._hub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return redactor
