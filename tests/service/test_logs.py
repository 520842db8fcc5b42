"""Log formatting: one record a line, whatever a client sent; JSON lines keep `extra=` fields."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.logs import (
    REQUEST_ID,
    BatchedStreamHandler,
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    escape_controls,
    log_handler,
)
from tests.helpers.apps import running_app, server_process, tiny_settings
from tests.helpers.tiny_models import build_repository
from tests.helpers.waiting import eventually

# A request path that, logged raw, would add a legitimate-looking record of its own to the log.
FORGED = "2031-01-01 00:00:00,000 ERROR service.auth [-] FORGED line"
FORGED_URL = f"/x%0a{FORGED.replace(' ', '%20')}%0d%1b[2K%E2%80%A8%C2%85end"
FORGED_PATH = f"/x\n{FORGED}\r\x1b[2K\u2028\x85end"
# Where a text record starts: its timestamp, at the start of a line.
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)


def make_record(
    msg: str = "hello %s", args: tuple[object, ...] = ("you",), **extra: object
) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "t", "levelname": "INFO", "msg": msg, "args": args, **extra}
    )
    RequestIdFilter().filter(record)
    return record


def format_record(**extra: object) -> dict[str, object]:
    return json.loads(JsonFormatter().format(make_record(**extra)))  # type: ignore[no-any-return]


def test_json_lines_have_message_level_and_request_id() -> None:
    token = REQUEST_ID.set("req-9")
    try:
        line = format_record(status=200)
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "hello you"
    assert line["level"] == "info"
    assert line["request_id"] == "req-9"
    assert line["status"] == 200
    assert "time" in line


def test_outside_a_request_the_id_is_a_dash() -> None:
    assert format_record()["request_id"] == "-"


def test_uvicorns_coloured_duplicate_is_left_out() -> None:
    assert "color_message" not in format_record(color_message="\x1b[1mhello\x1b[0m")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("GET /x\n2031-01-01 ERROR forged", "GET /x\\n2031-01-01 ERROR forged"),
        ("carriage\r\nreturn", "carriage\\r\\nreturn"),
        ("\x1b[31mred\x1b[0m \x1b[2K", "\\x1b[31mred\\x1b[0m \\x1b[2K"),
        ("nul\x00 bell\x07 del\x7f tab\t", "nul\\x00 bell\\x07 del\\x7f tab\\t"),
        ("vt\x0b ff\x0c fs\x1c gs\x1d rs\x1e", "vt\\x0b ff\\x0c fs\\x1c gs\\x1d rs\\x1e"),
        ("nel\x85 csi\x9b2J", "nel\\x85 csi\\x9b2J"),
        ("line\u2028para\u2029graph", "line\\u2028para\\u2029graph"),
        ("\u202egnp.exe \u2066isolate\u2069", "\\u202egnp.exe \\u2066isolate\\u2069"),
        ("plain: é ✓ 数字 \\n stays", "plain: é ✓ 数字 \\n stays"),
    ],
)
def test_control_characters_are_written_as_visible_escapes(raw: str, escaped: str) -> None:
    assert escape_controls(raw) == escaped
    assert len(escaped.splitlines()) == 1


def test_a_text_record_is_one_line_whatever_its_message_args_and_request_id() -> None:
    token = REQUEST_ID.set("id\nforged")
    try:
        record = make_record("%s %s %d", ("GET", FORGED_PATH, 404))
    finally:
        REQUEST_ID.reset(token)
    line = TextFormatter().format(record)
    assert line.splitlines() == [line], line
    assert line.endswith(
        " INFO t [id\\nforged] GET /x\\n" + FORGED + "\\r\\x1b[2K\\u2028\\x85end 404"
    )


def test_a_traceback_keeps_its_lines_and_every_one_is_indented() -> None:
    try:
        raise ValueError(f"bad value /x\n{FORGED}\x1b[2K")
    except ValueError:
        record = make_record("failed", (), exc_info=sys.exc_info())
    first, *traceback = TextFormatter().format(record).split("\n")
    assert first.endswith(" failed")
    assert traceback[0] == "  Traceback (most recent call last):"
    assert traceback[-2:] == ["  ValueError: bad value /x", f"  {FORGED}\\x1b[2K"]
    assert all(line.startswith("  ") for line in traceback), traceback


def test_a_json_record_is_one_line_that_decodes_to_what_was_logged() -> None:
    line = JsonFormatter().format(make_record("GET %s", (FORGED_PATH,), path=FORGED_PATH))
    assert line.splitlines() == [line], line
    entry = json.loads(line)
    assert (entry["message"], entry["path"]) == (f"GET {FORGED_PATH}", FORGED_PATH)


@contextmanager
def captured_log(log_format: str) -> Iterator[io.StringIO]:
    """What the service logs at INFO and above, written as the server would write it."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler, level = log_handler(log_format, stream), root.level
    handler.addFilter(logging.Filter("service"))  # not the test client's own request log
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def forged_lines(log: str, log_format: str) -> list[str]:
    """The log's lines that mention the forged line, checking that each is a whole record."""
    lines = [line for line in log.splitlines() if "FORGED" in line]
    for line in lines:
        if log_format == "json":
            assert json.loads(line)["path"] == FORGED_PATH, line
        else:
            assert RECORD_START.match(line), f"not the start of a record: {line!r}"
    assert not any(line.startswith("2031-01-01") for line in log.splitlines()), log
    return lines


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_forged_request_path_logs_one_record(tmp_path: Path, log_format: str) -> None:
    repository = build_repository(tmp_path, ("digits-cnn",))
    with running_app(tiny_settings(repository)) as client, captured_log(log_format) as stream:
        response = client.get(FORGED_URL, headers={"X-Request-ID": "forge-1"})
    assert response.status_code == 404, response.text
    forged = forged_lines(stream.getvalue(), log_format)
    assert len(forged) == 1, stream.getvalue()
    assert "forge-1" in forged[0]


@pytest.mark.e2e
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_forged_request_path_logs_one_line_under_uvicorn(tmp_path: Path, log_format: str) -> None:
    repository = build_repository(tmp_path / "models", ("digits-cnn",))
    log_path = tmp_path / "server.log"
    with server_process(repository, log_path, SERVING_LOG_FORMAT=log_format) as (_, base_url):
        response = httpx.get(base_url + FORGED_URL, headers={"X-Request-ID": "forge-2"})
        assert response.status_code == 404, response.text
        forged = eventually(
            lambda: forged_lines(log_path.read_text(), log_format),
            what="the forged request's access line in the log",
        )
    assert len(forged) == 1, log_path.read_text()
    assert "forge-2" in forged[0]


def test_batched_lines_reach_the_stream_within_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    with path.open("w", buffering=1 << 16) as stream:
        handler = BatchedStreamHandler(stream, interval_s=0.05)
        try:
            handler.handle(make_record("GET /healthz 200", ()))
            eventually(lambda: path.read_text() == "GET /healthz 200\n", what="the timed flush")
        finally:
            handler.close()


def test_warnings_leave_at_once_and_closing_flushes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    with path.open("w", buffering=1 << 16) as stream:
        handler = BatchedStreamHandler(stream, interval_s=3600.0)
        handler.handle(make_record("GET /healthz 200", ()))
        assert path.read_text() == ""  # held in the buffer
        warning = make_record("queue full", ())
        warning.levelno = logging.WARNING
        handler.handle(warning)
        assert path.read_text() == "GET /healthz 200\nqueue full\n"
        handler.handle(make_record("last words", ()))
        handler.close()
        assert path.read_text().endswith("queue full\nlast words\n")


def test_a_batched_handler_may_be_closed_twice(tmp_path: Path) -> None:
    # logging.shutdown closes every handler at exit, after configure_logging may have already.
    with (tmp_path / "server.log").open("w") as stream:
        handler = BatchedStreamHandler(stream, interval_s=0.01)
        handler.close()
        handler.close()
