"""The server comparison runs end to end in a tiny mode, so that it cannot rot between uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import pytest

from loadtest import asgi_servers
from loadtest.asgi_servers import Contender, Row
from loadtest.bench import wrk
from tests.helpers.tiny_models import build_repository

needs_wrk = pytest.mark.skipif(not wrk.available(), reason="wrk is not installed")
needs_granian = pytest.mark.skipif(
    importlib.util.find_spec("granian") is None, reason="granian is not installed"
)


def tiny_run(
    repository: Path, data_dir: Path, servers: str, capsys: pytest.CaptureFixture[str]
) -> str:
    argv = [
        "--models", str(repository), "--data-dir", str(data_dir), "--servers", servers,
        "--workers", "1", "--rounds", "1", "--seconds", "0.5", "--warmup", "0.2",
        "--connections", "4", "--summary", str(repository.parent / "asgi-servers.json"),
    ]  # fmt: skip
    assert asgi_servers.main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.e2e
@needs_wrk
@pytest.mark.parametrize(
    "servers", ["uvicorn", pytest.param("granian,granian-embed", marks=needs_granian)]
)
def test_every_server_answers_every_endpoint_in_the_table(
    servers: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = build_repository(tmp_path / "models", ("digits-cnn",))
    out = tiny_run(repository, data_dir, servers, capsys)
    for server in servers.split(","):
        for endpoint in asgi_servers.ENDPOINTS:
            row = next(
                (
                    line
                    for line in out.splitlines()
                    if line.startswith(f"| {server} | 1 | {endpoint} |")
                ),
                None,
            )
            assert row is not None, f"no {server} row for {endpoint}:\n{out}"
            assert row.split("|")[8].strip() == "0", f"{server} had errors on {endpoint}: {row}"
    assert "load average" in out, out
    summary = orjson.loads((tmp_path / "asgi-servers.json").read_bytes())
    assert summary["table"] in out


def row(server: str, endpoint: str, *throughputs: float) -> Row:
    return Row(Contender(server, 2), endpoint, throughputs, 1.0, 2.0, 0)


def test_each_server_is_compared_with_uvicorn_round_by_round() -> None:
    every = [
        row("uvicorn", "healthz", 100, 300, 200),
        row("granian", "healthz", 300, 150, 300),  # ×3, ×0.5, ×1.5: one disturbed round each way
        row("granian", "digit-png", 50),
    ]
    assert asgi_servers.ratio(every[1], every) == "1.50×"
    assert asgi_servers.ratio(every[0], every) == "1.00×"
    assert asgi_servers.ratio(every[2], every) == "n/a", "no uvicorn row to compare with"


def test_the_table_lists_uvicorn_first_and_every_round() -> None:
    table = asgi_servers.table(
        [row("granian", "healthz", 300, 300), row("uvicorn", "healthz", 100, 300)]
    )
    lines = table.splitlines()
    assert lines[2].startswith("| uvicorn | 2 | healthz | 200 | 100 / 300 |"), table
    assert lines[3].endswith("| 2.00× |"), table


def test_an_unknown_server_is_refused() -> None:
    with pytest.raises(SystemExit):
        asgi_servers.parse_args(["--servers", "hypercorn"])
