"""A small closed-loop HTTP load driver: httpx clients in a few processes, no wrk needed.

The device has httpx but neither wrk nor locust. One asyncio process of httpx tops out near a
couple of thousand requests per second, below what a GPU service may answer, so the connections
are spread over several client processes (spawned, never forked: the parent holds CUDA sessions).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

CLIENT_TIMEOUT_S = 30.0
ERROR_CHARS = 200


@dataclass(frozen=True)
class Target:
    """Requests for one route; request i uses path and body i (cycling)."""

    method: str
    paths: tuple[str, ...]
    bodies: tuple[bytes, ...] = (b"",)
    content_type: str | None = None


@dataclass
class Tally:
    """What one client process saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def fail(self, message: str) -> None:
        """Count a failed request; the first failure's message is kept."""
        self.errors += 1
        self.first_error = self.first_error or message[:ERROR_CHARS]

    def add(self, other: Tally) -> None:
        """Fold another process's tally into this one."""
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error


def drive(
    pool: ProcessPoolExecutor, url: str, target: Target, connections: list[int], seconds: float
) -> Tally:
    """Run `target` for `seconds` with connections[i] in client process i; all tallies folded."""
    futures = [pool.submit(run_client, url, target, n, seconds) for n in connections if n > 0]
    total = Tally()
    for future in futures:
        total.add(future.result())
    return total


@contextmanager
def client_pool(processes: int) -> Iterator[ProcessPoolExecutor]:
    """Client processes, started now so their start-up is not timed.

    Stopped early (SIGTERM, time box), the pool is not waited for: its clients end by themselves
    once the service they drive is gone.
    """
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    try:
        for future in [pool.submit(time.sleep, 0) for _ in range(processes)]:
            future.result()
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def spread(concurrency: int, processes: int) -> list[int]:
    """Connections per client process, as even as possible."""
    return [concurrency // processes + (i < concurrency % processes) for i in range(processes)]


def run_client(url: str, target: Target, connections: int, seconds: float) -> Tally:
    """One process: `connections` loops each sending requests back to back for `seconds`."""
    return asyncio.run(_closed_loop(url, target, connections, seconds))


async def _closed_loop(url: str, target: Target, connections: int, seconds: float) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=CLIENT_TIMEOUT_S) as client:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_loop(client, target, offset, deadline, tally) for offset in range(connections))
        )
    return tally


async def _loop(
    client: httpx.AsyncClient, target: Target, offset: int, deadline: float, tally: Tally
) -> None:
    headers = {"content-type": target.content_type} if target.content_type else {}
    i = offset
    while time.perf_counter() < deadline:
        path, body = target.paths[i % len(target.paths)], target.bodies[i % len(target.bodies)]
        started = time.perf_counter()
        try:
            response = await client.request(
                target.method, path, content=body or None, headers=headers
            )
        except httpx.ConnectError as exc:
            tally.fail(f"ConnectError: {exc}")
            return  # the service is gone (stopped early): a closed loop must not spin on it
        except httpx.HTTPError as exc:
            tally.fail(f"{type(exc).__name__}: {exc}")
        else:
            if response.is_success:
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                tally.fail(f"{response.status_code} {response.text}")
        i += 1
