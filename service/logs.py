"""Logging set-up: text or JSON lines, each carrying the request id of the request it belongs to.

Log lines carry what clients sent (paths, queries, header values, exception messages), so no
record may span two lines or steer a terminal: the text format escapes control characters and
indents tracebacks, and JSON lines escape the line breaks that JSON itself allows raw.

Lines are written in batches: an access line per request made one write to stderr each, about
40 % of what a line cost. Like nginx's `access_log ... buffer= flush=`, INFO lines now leave at
most `FLUSH_INTERVAL_S` later, warnings and errors at once, and everything at exit.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

import orjson

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
FLUSH_INTERVAL_S = 0.2
BUFFER_BYTES = 1 << 16

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


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """Writes each record at once but flushes the stream only for WARNING and above, and every
    `interval_s` from a background thread (and at exit, through `logging.shutdown`)."""

    def __init__(self, stream: TextIO, interval_s: float = FLUSH_INTERVAL_S) -> None:
        super().__init__(stream)
        self._stop_flushing = threading.Event()
        flusher = threading.Thread(
            target=self._flush_every, args=(interval_s,), name="log-flush", daemon=True
        )
        flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING:
                self.stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.flush()
        self._stop_flushing.set()
        super().close()

    def _flush_every(self, interval_s: float) -> None:
        while not self._stop_flushing.wait(interval_s):
            self.flush()  # under the handler's lock, like emit


def buffered_stderr() -> TextIO:
    """Standard error behind a buffer of its own (sys.stderr flushes at every newline); stderr
    itself where it is no file, as under a test's capture."""
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return sys.stderr
    # Kept open for the process's life, like sys.stderr; closefd=False leaves fd 2 alone.
    return open(descriptor, "w", BUFFER_BYTES, "utf-8", "backslashreplace", closefd=False)


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing records in `log_format` ("text" or "json") to `stream`, else to
    standard error in batches."""
    handler = logging.StreamHandler(stream) if stream else BatchedStreamHandler(buffered_stderr())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(level: str, log_format: str) -> None:
    """Send every logger (uvicorn's included) to stderr in the chosen format."""
    # What no line of ours shows, left uncollected per record (the logging HOWTO's "Optimization"
    # section): the caller's file and line (a stack walk), thread and process names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchedStreamHandler):
            replaced.close()  # flushes, and ends its flusher thread
    root.handlers[:] = [log_handler(log_format)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
