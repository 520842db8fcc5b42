"""Locust users that mix the service's three endpoints with real MNIST and IMDB payloads.

Every response is checked for content, not just status: a malformed body fails the request, and
how often a prediction equals the dataset's label is counted per endpoint (the `correctness`
metric, written to `--correctness-file` at the end and merged across worker processes).
Run it through `python -m loadtest.locust`; see loadtest/README.md.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import orjson
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest.locust import checks
from loadtest.payloads import DigitSample, ReviewSample, data_dir, load_digits, load_reviews

logger = logging.getLogger(__name__)

# Enough distinct bodies that caches see variety; built once per process before users start.
DIGIT_SAMPLES = 200
REVIEW_SAMPLES = 200
GENERATE_COUNT = 16
MAX_SEED = 2**31 - 1
ENDPOINTS = {"digit": "/predict/digit", "sentiment": "/sentiment", "generate": "/generate"}


@dataclass(frozen=True)
class Payloads:
    """Request bodies replayed by every user of this process."""

    digits: list[DigitSample]
    reviews: list[ReviewSample]


@dataclass
class Shared:
    """This process's payloads, the models to spread load over, and the correctness tallies."""

    payloads: Payloads | None = None
    models: dict[str, list[str]] | None = None  # endpoint key → ready short names
    correct: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)


SHARED = Shared()


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--data-dir", default=None, help="folder with mnist.npz, imdb.jsonl.gz")
    parser.add_argument("--correctness-file", default="", help="write accuracy JSON here")
    parser.add_argument("--wait-ms", default="20,200", help="think time per user: MIN,MAX ms")
    parser.add_argument(
        "--api-key", default="", env_var="LOADTEST_API_KEY", help="sent as X-API-Key"
    )


@events.init.add_listener
def _load_payloads(environment: Environment, **_: object) -> None:
    if isinstance(environment.runner, MasterRunner):
        return  # the master sends no requests
    folder = data_dir(environment.parsed_options.data_dir if environment.parsed_options else None)
    SHARED.payloads = Payloads(
        load_digits(folder, DIGIT_SAMPLES), load_reviews(folder, REVIEW_SAMPLES)
    )
    # Loading blocks the event loop for seconds, and gevent times a new timer from the loop's
    # cached clock: without this, locust's --run-time timer would start in the past and a short
    # run could end before its first request.
    gevent.get_hub().loop.update_now()


@events.report_to_master.add_listener
def _send_tallies(client_id: str, data: dict[str, Any]) -> None:
    data["correctness"] = {"correct": dict(SHARED.correct), "total": dict(SHARED.total)}
    SHARED.correct.clear()
    SHARED.total.clear()


@events.worker_report.add_listener
def _merge_tallies(client_id: str, data: dict[str, Any]) -> None:
    tallies = data.get("correctness", {})
    SHARED.correct.update(tallies.get("correct", {}))
    SHARED.total.update(tallies.get("total", {}))


@events.quitting.add_listener
def _write_tallies(environment: Environment, **_: object) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    report = {
        name: {
            "correct": SHARED.correct[name],
            "total": total,
            "accuracy": SHARED.correct[name] / total,
        }
        for name, total in sorted(SHARED.total.items())
    }
    for name, row in report.items():
        logger.info("%s: %d of %d predictions equal the label", name, row["correct"], row["total"])
    path = environment.parsed_options.correctness_file if environment.parsed_options else ""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


def _tally(metric: str, correct: bool) -> None:
    SHARED.total[metric] += 1
    SHARED.correct[metric] += int(correct)


class ServiceUser(FastHttpUser):
    """A client of all three endpoints, in the proportions of the task weights."""

    def wait_time(self) -> float:
        low, high = (float(ms) / 1000 for ms in self.environment.parsed_options.wait_ms.split(","))
        return random.uniform(low, high)

    def on_start(self) -> None:
        if SHARED.models is None:
            SHARED.models = self._ready_models()

    @task(4)
    def digit_pixels(self) -> None:
        sample = random.choice(self._payloads().digits)
        self._classify(sample, sample.pixels_json, "application/json", "pixels")

    @task(2)
    def digit_png(self) -> None:
        sample = random.choice(self._payloads().digits)
        self._classify(sample, sample.png, "image/png", "png")

    @task(3)
    def sentiment(self) -> None:
        review = random.choice(self._payloads().reviews)
        url = f"/sentiment?model={self._model('sentiment')}"
        label = self._post(
            url, review.body, "application/json", url.split("?")[0], checks.sentiment_label
        )
        if label is not None:
            _tally("sentiment", label == review.label)

    @task(1)
    def generate(self) -> None:
        model, seed = self._model("generate"), random.randint(0, MAX_SEED)
        digit = f"&digit={random.randint(0, 9)}" if model == "conditional" else ""
        url = f"/generate?model={model}&count={GENERATE_COUNT}&seed={seed}{digit}"
        get = self.client.get(url, headers=self._headers(), name="/generate", catch_response=True)
        with get as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return
            try:
                checks.png_size(response.content)
                checks.seed_header(response.headers.get("X-Seed"), seed)
            except checks.MalformedResponseError as exc:
                response.failure(str(exc))

    def _classify(self, sample: DigitSample, body: bytes, content_type: str, kind: str) -> None:
        url = f"/predict/digit?model={self._model('digit')}"
        name = f"/predict/digit [{kind}]"
        digit = self._post(url, body, content_type, name, checks.digit_prediction)
        if digit is not None:
            _tally(f"digit-{kind}", digit == sample.label)

    def _post(
        self, url: str, body: bytes, content_type: str, name: str, check: Callable[[bytes], Any]
    ) -> Any:
        """POST and check the body; the checked prediction, or None when the request failed."""
        headers = self._headers() | {"Content-Type": content_type}
        # FastHttpSession sends bytes as they are; its hints say only str and dict.
        with self.client.post(
            url,
            data=body,  # type: ignore[arg-type]
            headers=headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return None
            try:
                return check(response.content)
            except checks.MalformedResponseError as exc:
                response.failure(str(exc))
                return None

    def _headers(self) -> dict[str, str]:
        key = self.environment.parsed_options.api_key
        return {"X-API-Key": key} if key else {}

    def _model(self, endpoint: str) -> str:
        assert SHARED.models is not None
        return random.choice(SHARED.models[endpoint])

    def _payloads(self) -> Payloads:
        assert SHARED.payloads is not None, "payloads load in the init event"
        return SHARED.payloads

    def _ready_models(self) -> dict[str, list[str]]:
        """Short names of the ready models behind each endpoint, from GET /v1/models."""
        response = self.client.get("/v1/models", headers=self._headers(), name="/v1/models")
        served = orjson.loads(response.content)["models"] if response.status_code == 200 else []
        models = {
            key: [
                m["short_name"]
                for m in served
                if m["endpoint"] == path and m["status"] == "ready" and m["short_name"]
            ]
            for key, path in ENDPOINTS.items()
        }
        missing = [key for key, names in models.items() if not names]
        if missing:
            raise RuntimeError(f"no ready model serves {missing}; /v1/models said {served}")
        return models
