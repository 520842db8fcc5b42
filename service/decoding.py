"""Uploaded images → MNIST digits within a budget: pixels per request, decodes at once.

A 40-megapixel PNG of a few hundred kB holds ~160 MB while it decodes. So the pixels that all of
a request's images declare in their headers are checked before any is decoded, and uploads are
decoded by a pool of `decode_threads` per worker rather than asyncio's default (cpu_count + 4
threads): concurrent uploads queue instead of multiplying the memory they take.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from contract import images
from service.errors import InvalidImage, PayloadTooLarge

# Where each upload sits in the request ("instances[3]: "), and its bytes.
Uploads = dict[int, tuple[str, bytes]]


class ImageDecoder:
    """Decodes a request's uploads in a small thread pool, after checking their pixel total."""

    def __init__(self, threads: int, max_request_pixels: int) -> None:
        self.max_request_pixels = max_request_pixels
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="decode")

    async def decode(self, uploads: Uploads) -> dict[int, np.ndarray]:
        """(28, 28) float32 MNIST digits by upload index; errors name the failing upload."""
        self.check_budget(uploads)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, decode_all, uploads)

    def check_budget(self, uploads: Uploads) -> None:
        """413 when the uploads' headers declare more pixels than one request may decode."""
        declared = sum(images.declared_pixels(data) for _, data in uploads.values())
        if declared > self.max_request_pixels:
            raise PayloadTooLarge(
                f"the request's {len(uploads)} image(s) hold {declared / 1e6:.1f} megapixels "
                f"together; at most {self.max_request_pixels / 1e6:g} megapixels per request"
            )

    def close(self) -> None:
        """Stop the pool; decodes under way finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def decode_all(uploads: Uploads) -> dict[int, np.ndarray]:
    """Decode uploads with the contract's MNIST recipe; errors name the failing upload."""
    decoded = {}
    for i, (where, data) in uploads.items():
        try:
            decoded[i] = images.to_mnist(data).astype(np.float32)
        except images.ImageTooLarge as exc:
            raise PayloadTooLarge(f"{where}{exc}") from exc
        except images.InvalidImage as exc:
            raise InvalidImage(f"{where}{exc}") from exc
    return decoded
