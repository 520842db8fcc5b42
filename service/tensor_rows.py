"""Row-batched tensors: split a request into batch-sized chunks, join a batch, hand rows back.

Every array of a request shares its first (batch) axis; these keep that invariant, so each caller
of the batcher gets exactly its own rows back, whatever batch they rode in.
"""

from __future__ import annotations

import numpy as np

Tensors = dict[str, np.ndarray]


def row_count(feeds: Tensors) -> int:
    """The rows every array of `feeds` has; ValueError when they disagree."""
    counts = {len(array) for array in feeds.values()}
    if len(counts) != 1:
        raise ValueError(f"inputs disagree on the number of rows: {sorted(counts)}")
    return counts.pop()


def split_rows(feeds: Tensors, size: int) -> list[Tensors]:
    """`feeds` cut into chunks of at most `size` rows (views, no copies), in order."""
    rows = row_count(feeds)
    if rows <= size:
        return [feeds]
    return [
        {name: array[start : start + size] for name, array in feeds.items()}
        for start in range(0, rows, size)
    ]


def concatenate(parts: list[Tensors]) -> Tensors:
    """One tensor set holding the rows of `parts`, in order."""
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def slice_rows(outputs: Tensors, sizes: list[int]) -> list[Tensors]:
    """`outputs` cut back into consecutive parts of `sizes` rows (views), one per request."""
    parts, start = [], 0
    for size in sizes:
        parts.append({name: array[start : start + size] for name, array in outputs.items()})
        start += size
    return parts
