"""One way for a test to wait: poll until a condition holds, or fail with what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    probe: Callable[[], T],
    timeout_s: float = 10.0,
    *,
    interval_s: float = 0.02,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns something truthy and return that; fail after `timeout_s`.

    A probe that raises AssertionError counts as "not yet", so a probe can be a plain assertion.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            last: object = probe()
        except AssertionError as exc:
            last = exc
        else:
            if last:
                return last  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout_s} s; last: {last!r}")
        time.sleep(interval_s)


async def until(
    probe: Callable[[], object], timeout_s: float = 10.0, *, what: str = "condition"
) -> None:
    """`eventually` for coroutines: let the event loop run until `probe()` is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not probe():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout_s} s")
        await asyncio.sleep(0.001)
