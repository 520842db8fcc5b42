"""`python -m loadtest.abuse`: what hostile or careless clients cost the service, measured.

Starts the service on loopback and prints markdown for docs/reliability.md:
- image bombs: concurrent uploads of a 40-megapixel RGBA PNG of ~200 kB; the server's RSS
  before, at its peak and after;
- an overload burst: many `GET /generate?count=64&format=json` at once; the status counts and
  how fast the refusals come.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import psutil
from PIL import Image, ImageDraw
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from loadtest import server

BURST_PATH = "/generate?count=64&format=json"
BOMB_SIDE = 6324  # 40 megapixels, the most one upload may have
MB = 2**20


@dataclass(frozen=True)
class Memory:
    """RSS of the server process, in MB."""

    before: float
    peak: float
    after: float


@dataclass(frozen=True)
class Burst:
    """A burst's answers by status and error code, and the server's own time for each status."""

    answers: Counter[str]  # "200", "429 overloaded", "503 deadline_exceeded", ...
    server_ms: dict[str, float]  # mean time in the server by status, from its metrics
    shed: dict[str, float]  # the serving_shed counter by reason
    wall_s: float


def rgba_bomb() -> bytes:
    """A stroke on a transparent 6324×6324 sheet: ~200 kB on the wire, 160 MB decoded."""
    image = Image.new("RGBA", (BOMB_SIDE, BOMB_SIDE), (255, 255, 255, 0))
    ImageDraw.Draw(image).line((1000, 1000, 5000, 5000), fill=(0, 0, 0, 255), width=300)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


@contextmanager
def rss_peak(process: psutil.Process) -> Iterator[list[float]]:
    """Sample `process`'s RSS every 10 ms while the block runs; the list holds [peak MB]."""
    peak = [process.memory_info().rss / MB]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], process.memory_info().rss / MB)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


async def upload_bombs(url: str, bomb: bytes, uploads: int) -> Counter[int]:
    """POST `uploads` bombs at once; their status counts."""
    headers = {"Content-Type": "image/png"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        posts = [
            client.post("/predict/digit", content=bomb, headers=headers) for _ in range(uploads)
        ]
        return Counter(response.status_code for response in await asyncio.gather(*posts))


def measure_bombs(url: str, process: psutil.Process, uploads: int) -> tuple[Memory, Counter[int]]:
    """RSS around `uploads` concurrent image bombs (after-RSS read 2 s after the last answer)."""
    bomb = rgba_bomb()
    before = process.memory_info().rss / MB
    with rss_peak(process) as peak:
        statuses = asyncio.run(upload_bombs(url, bomb, uploads))
        time.sleep(2.0)  # give freed buffers time to leave; the "after" figure is what stays
    return Memory(before, peak[0], process.memory_info().rss / MB), statuses


async def burst(url: str, requests: int, connections: int) -> Burst:
    """`requests` GET /generate?count=64&format=json over `connections` connections at once.

    A plain HTTP/1.1 client on asyncio streams: httpx's pool spends minutes of CPU arbitrating
    thousands of waiting requests between hundreds of connections, on the cores under test.
    """
    address = urlsplit(url)
    left, answers = [requests], Counter[str]()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _keep_sending(address.hostname or "", address.port or 80, left, answers)
            for _ in range(connections)
        )
    )
    wall_s = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=url) as client:
        metrics = (await client.get("/metrics")).text
    families = {family.name: family for family in text_string_to_metric_families(metrics)}
    server_ms = _server_ms(families["serving_request_duration_seconds"])
    return Burst(answers, server_ms, _shed(families["serving_shed"]), wall_s)


async def _keep_sending(host: str, port: int, left: list[int], answers: Counter[str]) -> None:
    """Send requests one after another on one connection until the burst's count is used up."""
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {BURST_PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    try:
        while left[0] > 0:
            left[0] -= 1
            writer.write(request)
            status, body = await _read_response(reader)
            answers[_answer(status, body)] += 1
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


def _answer(status: int, body: bytes) -> str:
    """ "200", or the status with the error code: "429 overloaded"."""
    return str(status) if status == 200 else f"{status} {orjson.loads(body)['error']['code']}"


def _server_ms(family: Metric) -> dict[str, float]:
    """Mean seconds in the server of /generate answers, by status, in ms."""
    totals: dict[str, list[float]] = {}
    for sample in family.samples:
        if sample.labels.get("endpoint") == "/generate" and sample.name.endswith(
            ("_sum", "_count")
        ):
            totals.setdefault(sample.labels["status"], [0.0, 0.0])[
                sample.name.endswith("_count")
            ] += sample.value
    return {status: 1000 * total / count for status, (total, count) in totals.items() if count}


def _shed(family: Metric) -> dict[str, float]:
    return {s.labels["reason"]: s.value for s in family.samples if s.name.endswith("_total")}


def markdown(memory: Memory, bomb_statuses: Counter[int], overload: Burst, uploads: int) -> str:
    """The figures as docs/reliability.md shows them."""
    lines = [
        f"| {uploads} concurrent 40-megapixel RGBA PNG uploads | RSS before | peak | after 2 s |",
        "|---|---|---|---|",
        f"| statuses {dict(bomb_statuses)} | {memory.before:.0f} MB | "
        f"+{memory.peak - memory.before:.0f} MB | +{memory.after - memory.before:.0f} MB |",
        "",
        "| overload burst: answer | count | mean time in the server |",
        "|---|---|---|",
    ]
    for answer, count in sorted(overload.answers.items()):
        mean_ms = overload.server_ms.get(answer.split()[0], float("nan"))
        lines.append(f"| {answer} | {count} | {mean_ms:.0f} ms |")
    lines.append(f"\nBurst wall time {overload.wall_s:.1f} s; shed by reason: {overload.shed}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Start the service, run both measurements, print the markdown."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.abuse", description=__doc__)
    parser.add_argument("--repository", type=Path, default=server.ROOT / "models")
    parser.add_argument("--uploads", type=int, default=4, help="concurrent image bombs")
    parser.add_argument("--requests", type=int, default=2048, help="requests in the burst")
    parser.add_argument("--connections", type=int, default=512, help="connections of the burst")
    args = parser.parse_args(argv)
    port = server.free_port()
    env = server.service_env(args.repository, port, log_level="warning")
    log = Path("/tmp/loadtest-abuse/server.log")
    with server.running(server.SERVICE_COMMAND, port, log, env) as url:
        process = psutil.Process().children()[0]
        memory, bomb_statuses = measure_bombs(url, process, args.uploads)
        overload = asyncio.run(burst(url, args.requests, args.connections))
    print(markdown(memory, bomb_statuses, overload, args.uploads))


if __name__ == "__main__":
    main()
