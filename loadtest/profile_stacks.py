"""Collapsed py-spy stacks summed into the parts of a request.

py-spy's raw format is one line per distinct stack: `frame;frame;...;leaf count`, each frame
`function (path:line)`, root first. A sample belongs to the innermost frame that names a part:
a sample in `logging` under our middleware is logging, one in Pillow under contract/images.py
is image decoding. Idle thread-pool workers (blocked on their queue) are not work and are left
out; the shares are of the worker's busy samples.
"""

from __future__ import annotations

import re

Breakdown = dict[str, float]

# (part, frame pattern), innermost first wins; patterns match the `path` inside the parentheses.
PARTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (part, re.compile(pattern))
    for part, pattern in (
        ("onnxruntime", r"\(onnxruntime/"),
        ("image decoding", r"\((contract/images|service/decoding|PIL/)"),
        ("text tokenising", r"\(contract/text"),
        ("request parsing", r"\((service/inputs|service/sentiment|service/oip/codec|json/)"),
        ("logging", r"\((logging/|service/logs)"),
        ("metrics", r"\((prometheus_client/|service/metrics)"),
        ("answer", r"\((service/responses|service/digits|starlette/responses|orjson)"),
        (
            "batching and admission",
            r"\((service/(batching|admission|tensor_rows|lifecycle|load_shedding|service_rate)"
            r"|contract/tensors|concurrent/futures)",
        ),
        ("our middleware", r"\(service/(middleware|draining|auth)"),
        ("FastAPI and Starlette", r"\((fastapi|starlette|pydantic|anyio)/"),
        ("uvicorn and HTTP parsing", r"\((uvicorn|httptools|h11)/"),
        ("event loop", r"\((asyncio|uvloop|selectors)/"),
    )
)
IDLE_WORKER = re.compile(r"^_worker \(concurrent/futures/thread\.py:\d+\)$")


def part_of(frames: list[str]) -> str:
    """The part of the innermost frame that names one, else "other"."""
    for frame in reversed(frames):
        for part, pattern in PARTS:
            if pattern.search(frame):
                return part
    return "other"


def breakdown(collapsed: str) -> Breakdown:
    """Each part's share of the busy samples, largest first."""
    counts: dict[str, int] = {}
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or IDLE_WORKER.match(frames[-1]):
            continue
        part = part_of(frames)
        counts[part] = counts.get(part, 0) + int(count)
    total = sum(counts.values()) or 1
    return {part: n / total for part, n in sorted(counts.items(), key=lambda kv: -kv[1])}
