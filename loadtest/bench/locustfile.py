"""The bench's load driver where wrk is missing: one closed-loop locust user per connection.

Reads its target from $LOADTEST_BENCH_TARGET (JSON of `drivers.Target`), replays it with no
think time, and classifies each response the way the wrk script does: 2xx passes; a 429 fails as
"429" (or "429 no Retry-After"); anything else fails as "HTTP <status>".
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

from locust import FastHttpUser, constant, task

from loadtest.bench.drivers import REJECTED, REJECTED_NO_RETRY_AFTER, TARGET_ENV

MAX_SEED = 2**31 - 1


class BenchUser(FastHttpUser):
    """Sends the target's requests back to back."""

    wait_time = constant(0)

    def on_start(self) -> None:
        target = json.loads(os.environ[TARGET_ENV])
        self.method: str = target["method"]
        self.path: str = target["path"]
        self.seed_param: bool = target["seed_param"]
        self.headers = {"Content-Type": target["content_type"]} if target["content_type"] else {}
        bodies = [Path(path).read_bytes() for path in target["bodies"]] or [b""]
        self.bodies: Iterator[bytes] = itertools.cycle(bodies)

    @task
    def send(self) -> None:
        path = self.path + (f"&seed={random.randint(0, MAX_SEED)}" if self.seed_param else "")
        body = next(self.bodies) if self.method == "POST" else None
        # FastHttpSession sends bytes as they are; its hints say only str and dict.
        with self.client.request(
            self.method,
            path,
            data=body,  # type: ignore[arg-type]
            headers=self.headers,
            name="bench",
            catch_response=True,
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                response.success()
            elif status == 429:
                has_retry_after = response.headers.get("Retry-After") is not None
                response.failure(REJECTED if has_retry_after else REJECTED_NO_RETRY_AFTER)
            else:
                response.failure(f"HTTP {status}")
