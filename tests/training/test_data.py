from pathlib import Path

import pytest

from training.data import DataError, load_imdb, load_mnist, resolve_data_dir


def test_real_mnist_loads_with_its_checksum(data_dir: Path) -> None:
    mnist = load_mnist(data_dir)
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert list(mnist.y_test[:5]) == [7, 2, 1, 0, 4]


def test_real_imdb_loads_as_raw_text(data_dir: Path) -> None:
    imdb = load_imdb(data_dir)
    assert len(imdb.train_texts) == len(imdb.test_texts) == 25000
    assert imdb.train_labels.sum() == imdb.test_labels.sum() == 12500
    assert any("<br />" in text for text in imdb.train_texts[:100])


@pytest.mark.parametrize("loader", [load_mnist, load_imdb])
def test_missing_file_says_what_to_do(loader, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is missing: pass --data-dir"):
        loader(tmp_path)


@pytest.mark.parametrize(
    ("loader", "name"), [(load_mnist, "mnist.npz"), (load_imdb, "imdb.jsonl.gz")]
)
def test_corrupt_file_is_refused(loader, name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(b"not the dataset")
    with pytest.raises(DataError, match="is corrupt"):
        loader(tmp_path)


def test_data_dir_flag_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_DATA_DIR", "/from/env")
    assert resolve_data_dir("/from/flag") == Path("/from/flag")
    assert resolve_data_dir(None) == Path("/from/env")
    monkeypatch.delenv("TRAINING_DATA_DIR")
    assert resolve_data_dir(None) is None
