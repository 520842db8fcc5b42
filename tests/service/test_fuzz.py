"""Schemathesis against the service's own OpenAPI schema, on a real server over loopback.

`make test` runs a bounded, seeded pass (examples and fuzzing phases); `make fuzz` sets
FUZZ_MAX_EXAMPLES higher and FUZZ_COVERAGE=1, whose boundary values (100 000-character texts,
64-item batches) cost minutes. Checks: schemathesis' own (no 5xx, status codes, content types and
bodies as documented, schema-valid input accepted, schema-violating input refused) plus one of
ours: every error is the `{"error": {"code", "message"}}` envelope.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import create_app
from tests.helpers.apps import server_process, tiny_settings
from tests.helpers.tiny_models import build_repository

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "60"))
COVERAGE = os.environ.get("FUZZ_COVERAGE", "0") == "1"
SEED = int(os.environ.get("FUZZ_SEED", "20251123"))
# Refusals the schema cannot express: an image that decodes to garbage (400) and byte caps (413)
# are answers to schema-valid bodies; a 413 is as good a refusal of an over-long batch as a 422.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "413", "429"]
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
    "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        "negative_data_rejection": {"expected-statuses": REFUSED},
    },
    "operations": [
        {
            # digit= with model=dcgan is schema-valid and refused (422): OpenAPI cannot say that
            # one parameter's value rules out another.
            "include-path": "/generate",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        }
    ],
}

# Built at import, as schemathesis' pytest plugin needs it: the schema does not depend on the
# models, so an app that never starts gives it. (Its lazy `from_fixture` breaks on pytest 9.)
schema = schemathesis.openapi.from_dict(
    create_app(tiny_settings(Path("models"))).openapi(),
    config=schemathesis.Config.from_dict(CONFIG),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("fuzz")
    repository = build_repository(folder / "models")
    with server_process(repository, folder / "server.log") as (_, base_url):
        yield base_url


def error_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every error answer is `{"error": {"code": str, "message": str}}`; under /v2 the protocol's
    `{"error": str}`."""
    if response.status_code < 400:
        return None
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if case.path.startswith("/v2"):
        assert isinstance(error, str), f"no protocol error: {response.text[:300]}"
        return None
    assert isinstance(error, dict), f"no error envelope: {response.text[:300]}"
    assert isinstance(error.get("code"), str), body
    assert isinstance(error.get("message"), str), body
    return None


@schema.parametrize()
def test_the_api_keeps_its_schema(case: schemathesis.Case, fuzz_server: str) -> None:
    case.call_and_validate(base_url=fuzz_server, additional_checks=[error_envelope])
