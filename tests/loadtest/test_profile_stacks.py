"""py-spy's collapsed stacks are summed into the parts of a request, innermost part first."""

from __future__ import annotations

import pytest

from loadtest.profile_stacks import breakdown, part_of

LOOP = "Runner.run (asyncio/runners.py:118)"
MIDDLEWARE = "RequestContextMiddleware.__call__ (service/middleware.py:58)"
ROUTE = "predict_digit (service/routes/predict.py:36)"


def test_the_innermost_frame_that_names_a_part_wins() -> None:
    logged = [LOOP, MIDDLEWARE, "Logger.info (logging/__init__.py:1489)"]
    assert part_of(logged) == "logging"
    assert part_of([LOOP, MIDDLEWARE]) == "our middleware"
    parsed = [LOOP, ROUTE, "pixels_array (service/inputs.py:143)"]
    assert part_of(parsed) == "request parsing"
    decoded = [LOOP, "to_mnist (contract/images.py:40)", "Image.load (PIL/ImageFile.py:300)"]
    assert part_of(decoded) == "image decoding"
    assert part_of(["<module> (service/__main__.py:6)", ROUTE]) == "other"


def test_shares_are_of_busy_samples_and_idle_pool_workers_are_left_out() -> None:
    collapsed = "\n".join(
        [
            f"{LOOP};{MIDDLEWARE};Logger.info (logging/__init__.py:1489) 30",
            f"{LOOP};{ROUTE};Session.run (onnxruntime/capi/session.py:395) 10",
            f"{LOOP} 60",
            "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:81) 500",
        ]
    )
    parts = breakdown(collapsed)
    assert list(parts) == ["event loop", "logging", "onnxruntime"]
    assert parts["logging"] == pytest.approx(0.3)
    assert sum(parts.values()) == pytest.approx(1.0)
