"""One version's life: opened in a thread, pinned by requests, retired only once they are done."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from service import lifecycle
from service.lifecycle import ModelVersion, fingerprint, open_version
from service.loading import ModelLoadError
from service.metrics import Metrics
from service.providers import CPU
from tests.helpers.apps import tiny_settings
from tests.helpers.tiny_models import build_repository


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return build_repository(tmp_path, ("digits-cnn",)) / "digits-cnn" / "1"


async def open_tiny(folder: Path, **settings: object) -> ModelVersion:
    """Open the version in `folder` on CPU with the tests' settings."""
    configured = tiny_settings(folder.parents[1], **settings)
    return await open_version(folder, [CPU], configured, Metrics())


def test_an_opened_version_batches_as_its_metadata_and_the_settings_say(folder: Path) -> None:
    version = asyncio.run(open_tiny(folder, max_batch_rows=2))
    assert version.ref == {"model": "digits-cnn", "model_version": "1"}
    assert version.loaded.providers == [CPU]
    config = version.batcher.config
    assert config.max_batch_rows == 2, "the setting caps the metadata's max_batch_size"
    assert config.max_queue_delay_s == pytest.approx(0.001), "the metadata's 1 ms window"
    assert config.coalesce, "classifier requests share batches; only generators run alone"


def test_a_version_retires_only_once_no_request_holds_it(folder: Path) -> None:
    async def scenario() -> None:
        version = await open_tiny(folder)
        version.batcher.start()
        with version.pinned():
            retiring = asyncio.create_task(version.retire(timeout_s=10))
            with pytest.raises(TimeoutError):  # held: still waiting after 0.2 s
                await asyncio.wait_for(asyncio.shield(retiring), 0.2)
            pixels = np.zeros((1, 28, 28, 1), dtype=np.float32)
            answer = await version.infer({"image": pixels})
        await asyncio.wait_for(retiring, 5)
        assert answer["probabilities"].shape == (1, 10), "the pinned request was answered"

    asyncio.run(scenario())


def test_an_unexpected_error_while_loading_is_a_load_error_logged_with_its_traceback(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setattr(lifecycle, "load_model", broken)
    with caplog.at_level(logging.ERROR), pytest.raises(ModelLoadError, match="unexpected error"):
        asyncio.run(open_tiny(folder))
    assert [r.exc_info is not None for r in caplog.records] == [True], caplog.records


def test_a_version_copied_again_gets_another_fingerprint(folder: Path) -> None:
    before = fingerprint(folder)
    later = (folder / "model.onnx").stat().st_mtime_ns + 1_000_000_000
    os.utime(folder / "model.onnx", ns=(later, later))
    assert fingerprint(folder) != before
    assert fingerprint(folder.with_name("9")) == "9@0", "a folder gone is looked at again later"


def test_an_opened_version_knows_its_service_rate_before_any_request(tmp_path: Path) -> None:
    repository = build_repository(tmp_path, ("digits-cnn",))
    settings = tiny_settings(repository)

    async def opened() -> float | None:
        version = await open_version(repository / "digits-cnn" / "1", [CPU], settings, Metrics())
        return version.batcher.rows_per_s

    # Without it a burst reaching a fresh version would all be admitted, however long its work.
    rate = asyncio.run(opened())
    assert rate is not None
    assert rate > 0
