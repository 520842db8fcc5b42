"""What a bench load driver sends, and what it measured: shared by the wrk and locust drivers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The locust fallback driver: where its locustfile finds the target, and how it names failures.
# Here rather than in that locustfile, since importing locust monkey-patches the whole process.
TARGET_ENV = "LOADTEST_BENCH_TARGET"
REJECTED = "429"
REJECTED_NO_RETRY_AFTER = "429 no Retry-After"


@dataclass(frozen=True)
class Target:
    """One kind of request, replayed in a closed loop: POST bodies cycled, or GETs."""

    name: str  # "digit-pixels"
    method: str
    path: str  # with its query string
    content_type: str | None = None
    bodies: tuple[Path, ...] = ()  # files, one request body each
    seed_param: bool = False  # append &seed=<random> to every request


@dataclass(frozen=True)
class Measurement:
    """One closed-loop run: `concurrency` connections for `duration_s` against one target."""

    server: str
    target: str
    concurrency: int
    duration_s: float
    ok: int  # 2xx responses
    rejected: int  # 429 responses
    server_errors: int  # 5xx responses
    other_errors: int  # other statuses, and connect/read/write/timeout errors
    missing_retry_after: int  # 429s without a Retry-After header
    p50_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        """Every failed request except admission-control 429s."""
        return self.server_errors + self.other_errors
