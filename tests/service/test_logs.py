"""Log formatting: JSON lines carry the request id and the fields passed with `extra=`."""

from __future__ import annotations

import json
import logging

from service.logs import REQUEST_ID, JsonFormatter, RequestIdFilter


def format_record(**extra: object) -> dict[str, object]:
    record = logging.makeLogRecord(
        {"name": "t", "levelname": "INFO", "msg": "hello %s", "args": ("you",), **extra}
    )
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


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
