"""Logging set-up: text or JSON lines, each carrying the request id of the request it belongs to.

Log lines carry what clients sent (paths, queries, header values, exception messages), so no
record may span two lines or steer a terminal: the text format escapes control characters and
indents tracebacks, and JSON lines escape the line breaks that JSON itself allows raw.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

import orjson

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Attributes every LogRecord has; anything else was passed with `extra=` and goes into JSON lines
# (except uvicorn's terminal-coloured duplicate of the message).
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}
# C0 and C1 controls (line feeds, ESC), DEL, the Unicode line and paragraph separators (which
# str.splitlines() and many viewers break on) and the bidirectional overrides that make a line
# display other than it reads. orjson escapes the C0 ones itself, as JSON requires.
_BEYOND_ASCII = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x1f{_BEYOND_ASCII}]")
_JSON_RAW = re.compile(rf"[{_BEYOND_ASCII}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\n`, `\\x1b`)."""
    # A regular expression, not str.translate: 4× faster on a line that needs escaping.
    return text if text.isprintable() else _CONTROL.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being handled ("-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT` lines: one line a record, whatever its message and arguments hold."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        lines = [escape_controls(self.formatMessage(record))]
        if record.exc_info:
            lines.append(_continuation(self.formatException(record.exc_info)))
        if record.stack_info:
            lines.append(_continuation(self.formatStack(record.stack_info)))
        return "\n".join(lines)


def _continuation(text: str) -> str:
    # A traceback keeps its lines, each indented: log shippers join indented lines to the record
    # above, and no line of it (an exception message often quotes a client) can pass for a record.
    return "\n".join("  " + escape_controls(line) for line in text.split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers; fields passed with `extra=` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which worker, when SERVING_WORKERS > 1
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str).decode()
        return line if line.isascii() else _JSON_RAW.sub(_json_escape, line)


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing records in `log_format` ("text" or "json") to `stream` (stderr)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(level: str, log_format: str) -> None:
    """Send every logger (uvicorn's included) to stderr in the chosen format."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler(log_format)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
