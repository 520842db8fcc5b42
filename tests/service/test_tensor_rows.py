"""Splitting and joining row-batched tensors: every caller gets exactly its own rows back."""

from __future__ import annotations

import numpy as np
import pytest

from service.tensor_rows import concatenate, row_count, slice_rows, split_rows


def feeds(rows: int) -> dict[str, np.ndarray]:
    return {"x": np.arange(rows * 3).reshape(rows, 3), "id": np.arange(rows)}


def test_row_count_refuses_inputs_that_disagree() -> None:
    with pytest.raises(ValueError, match=r"disagree on the number of rows: \[2, 3\]"):
        row_count({"x": np.zeros((2, 3)), "id": np.zeros(3)})


@pytest.mark.parametrize(("rows", "size", "chunks"), [(3, 8, [3]), (8, 8, [8]), (10, 4, [4, 4, 2])])
def test_split_rows_cuts_chunks_of_at_most_size_in_order(
    rows: int, size: int, chunks: list[int]
) -> None:
    parts = split_rows(feeds(rows), size)
    assert [row_count(part) for part in parts] == chunks
    np.testing.assert_array_equal(concatenate(parts)["id"], np.arange(rows))


def test_slice_rows_hands_back_consecutive_parts() -> None:
    parts = slice_rows(feeds(6), [1, 3, 2])
    assert [part["id"].tolist() for part in parts] == [[0], [1, 2, 3], [4, 5]]
    assert parts[1]["x"].shape == (3, 3)


def test_concatenate_of_one_part_is_that_part() -> None:
    part = feeds(2)
    assert concatenate([part]) is part
