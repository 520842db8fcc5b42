"""Loading a model version: checksums, metadata, vocabulary, provider fallback, warm-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from service import loading
from service.loading import ModelLoadError, load_model, without_repository
from service.providers import CPU, CUDA
from tests.helpers.tiny_models import build_repository


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return build_repository(tmp_path, ("digits-cnn", "sentiment-lstm"))


def test_a_sound_model_loads_verified_and_warm(repository: Path) -> None:
    loaded = load_model(repository / "sentiment-lstm" / "1", [CPU], intra_op_threads=1)
    assert loaded.providers == [CPU]
    assert loaded.vocabulary is not None
    assert len(loaded.vocabulary) == 8
    outputs = loaded.run({"tokens": np.zeros((3, 200), dtype=np.int64)})
    assert outputs["positive_probability"].shape == (3, 1)


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (
            lambda f: f.joinpath("model.onnx").write_bytes(
                f.joinpath("model.onnx").read_bytes() + b"x"
            ),
            "sha256",
        ),
        (lambda f: f.joinpath("model.onnx").unlink(), "missing"),
        (lambda f: f.joinpath("vocab.txt").write_text("[PAD]\n[UNK]\nother"), "vocabulary file"),
        (lambda f: f.joinpath("metadata.json").write_text("{}"), "metadata.json is invalid"),
        (lambda f: f.joinpath("metadata.json").unlink(), "no metadata.json"),
    ],
)
def test_a_damaged_model_is_refused_with_the_reason(
    repository: Path, damage: object, fragment: str
) -> None:
    folder = repository / "sentiment-lstm" / "1"
    damage(folder)  # type: ignore[operator]
    with pytest.raises(ModelLoadError, match=fragment):
        load_model(folder, [CPU])


def test_metadata_must_describe_its_own_folder(repository: Path) -> None:
    shutil.copytree(repository / "digits-cnn", repository / "digits-mlp")
    with pytest.raises(ModelLoadError, match="describes digits-cnn"):
        load_model(repository / "digits-mlp" / "1", [CPU])


def test_a_gpu_provider_that_fails_falls_back_to_cpu(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_session = ort.InferenceSession
    tried: list[str] = []

    def session(
        path: str, sess_options: object, providers: list[tuple[str, dict[str, str]]]
    ) -> object:
        tried.append(providers[0][0])
        if providers[0][0] != CPU:
            raise RuntimeError("CUDA failure: no device")
        return real_session(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(loading.ort, "InferenceSession", session)
    loaded = load_model(repository / "digits-cnn" / "1", [CUDA, CPU])
    assert tried == [CUDA, CPU]
    assert loaded.providers == [CPU]


def test_when_every_provider_fails_the_error_says_so(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def session(*args: object, **kwargs: object) -> object:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(loading.ort, "InferenceSession", session)
    with pytest.raises(ModelLoadError, match="out of memory"):
        load_model(repository / "digits-cnn" / "1", [CPU])


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "model file {root}/digits-mlp/1/model.onnx has sha256",
            "model file digits-mlp/1/model.onnx has sha256",
        ),
        (
            "cannot run {root}/digits-mlp/1: Load '{root}/digits-mlp/1/model.onnx'",
            "cannot run digits-mlp/1: Load 'digits-mlp/1/model.onnx'",
        ),
        (
            "[Errno 13] Permission denied: '{absolute}/digits-mlp/2'",
            "[Errno 13] Permission denied: 'digits-mlp/2'",
        ),
        ("{resolved}/digits-mlp/1/vocab.txt is missing", "digits-mlp/1/vocab.txt is missing"),
        (
            "inputs/outputs differ; see {root}x/y and /elsewhere/{root}/z",
            "inputs/outputs differ; see {root}x/y and /elsewhere/{root}/z",
        ),
    ],
)
def test_callers_see_paths_relative_to_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, shown: str
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    root = Path("link")  # configured relative, through a symlink
    spellings = {"root": root, "absolute": tmp_path / "link", "resolved": tmp_path / "real"}
    assert without_repository(message.format(**spellings), root) == shown.format(**spellings)
