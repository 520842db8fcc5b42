"""The bench's paired servers: measured in turns, each point's best run kept."""

from __future__ import annotations

from loadtest.bench.drivers import Measurement
from loadtest.bench.runner import best_runs, drive_in_turns
from loadtest.bench.servers import ServerSpec
from tests.loadtest.bench.sample_results import measured


def spec(name: str) -> ServerSpec:
    return ServerSpec(name, ("true",), {}, ("digit-pixels",))


def test_the_pair_takes_turns_and_each_point_keeps_its_best_run() -> None:
    order: list[str] = []
    throughputs = {"defaults": iter([100, 300, 200]), "minimal": iter([500, 400, 600])}

    def drive_one(server: ServerSpec) -> list[Measurement]:
        order.append(server.name)
        ok = next(throughputs[server.name])
        return [measured(server.name, "digit-pixels", 32, ok), measured(server.name, "x", 1, 1)]

    kept = drive_in_turns([spec("defaults"), spec("minimal")], 3, drive_one)
    assert order == ["defaults", "minimal", "minimal", "defaults", "defaults", "minimal"]
    best = {(m.server, m.target): m.throughput for m in kept}
    assert best == {
        ("defaults", "digit-pixels"): 300,
        ("defaults", "x"): 1,
        ("minimal", "digit-pixels"): 600,
        ("minimal", "x"): 1,
    }


def test_best_runs_keeps_one_run_per_point_in_first_run_order() -> None:
    runs = [
        measured("a", "t", 8, 10),
        measured("a", "t", 32, 20),
        measured("a", "t", 8, 30),
        measured("b", "t", 8, 5),
    ]
    assert [(m.concurrency, m.ok) for m in best_runs(runs)] == [(8, 30), (32, 20), (8, 5)]
