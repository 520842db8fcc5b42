"""Image preprocessing: any uploaded picture of a digit → a (28, 28) uint8 MNIST-like array.

It repeats how MNIST itself was made: the ink is cropped, scaled to fit a 20x20 box keeping its
aspect ratio (antialiased), and pasted into 28x28 so that its centre of mass lands on (14, 14).
Before that, a real upload is normalised: EXIF orientation, transparency, any colour mode, dark ink
on white paper, faint ink and paper grain. The service reads uploads with it; the load generator
and the tests check their drawings against it. It imports only numpy and Pillow.

The upload is decoded once, to 8-bit lightness, read whole only as uint8, and turned into floats
at the crop: that halved the cost of a 200x200 PNG, now mostly Pillow's PNG decoder.
"""

from __future__ import annotations

import functools
import io
import math
from typing import NamedTuple

import numpy as np
from PIL import ExifTags, Image

MNIST_SIZE = 28
INK_BOX = 20
MIN_SIDE = 8
MAX_PIXELS = 40_000_000
# Larger uploads are box-reduced to about this long side first: the ink ends up 20 px tall anyway,
# and a 12-megapixel photo would otherwise cost tens of milliseconds per step.
WORK_SIZE = 512
# Rows of reduction boxes converted at a time: a few MB of strip whatever the upload's size.
STRIP_BOXES = 32
# Ink must differ from the paper by this much (of 255) to count: JPEG noise on blank paper is less.
MIN_CONTRAST = 20.0
# Pixels above this fraction of the strongest ink define the ink's bounding box; MNIST's own
# antialiased halo is faint, so a low threshold keeps a real MNIST digit exactly 20 px tall.
CROP_THRESHOLD = 0.05
# Pillow can open EPS (via Ghostscript) and other exotic formats; uploads get only these. Phones'
# multi-picture JPEGs (MPO) come through the JPEG opener.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
UNDECODABLE = (
    "could not decode the upload as an image (PNG, JPEG, GIF, BMP, WebP, TIFF are accepted)"
)
_MAD_TO_SIGMA = 1.4826
_LEVELS = np.arange(256)
# Pillow's own limit (~89 megapixels to warn, twice that to raise) fires inside Image.open; the
# warning is an exception too where warnings are errors (pytest -W error).
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class InvalidImage(ValueError):  # noqa: N818 - the public name every caller already uses
    """The upload is not a usable image of a digit; the message says why, for the API user."""


class ImageTooLarge(InvalidImage):
    """The image has more pixels than allowed (decompression bombs included)."""

    def __init__(self, message: str, pixels: int = 0) -> None:
        super().__init__(message)
        self.pixels = pixels  # as the header declares them; 0 where Pillow would not read it


class Paper(NamedTuple):
    """The background, measured on the image's border, in 0-255 lightness."""

    level: float
    noise: float  # grain and sensor noise: ink must stand out by more than this
    dark: bool  # light ink on dark paper, MNIST's own polarity


def to_mnist(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Uploaded image bytes → (28, 28) uint8, light ink on dark, centred by mass like MNIST."""
    return image_to_mnist(open_image(data, max_pixels=max_pixels))


def image_to_mnist(image: Image.Image) -> np.ndarray:
    """An upload opened by `open_image` → (28, 28) uint8 MNIST digit; decodes it once."""
    fitted = fit_to_box(crop_to_ink(decode_gray(image)), INK_BOX)
    fitted *= 255.0 / float(fitted.max())  # MNIST strokes peak at full intensity
    return center_by_mass(np.rint(fitted).astype(np.uint8), MNIST_SIZE)


# --- decoding ---------------------------------------------------------------------------------


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Read only the header and refuse a bad size before any pixel is decoded."""
    if not data:
        raise InvalidImage("the upload is empty; send the image file's bytes")
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except _BOMB as exc:
        raise ImageTooLarge(f"image is too large to decode: {exc}") from exc
    except Exception as exc:  # same zoo as in decode_gray
        raise InvalidImage(UNDECODABLE) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image is {width}x{height} px ({width * height / 1e6:.1f} megapixels); "
            f"expected at most {max_pixels / 1e6:g} megapixels",
            pixels=width * height,
        )
    if min(width, height) < MIN_SIDE:
        raise InvalidImage(f"image is {width}x{height} px; expected at least {MIN_SIDE}x{MIN_SIDE}")
    return image


def decode_gray(image: Image.Image) -> np.ndarray:
    """An opened upload → uint8 lightness (H, W), upright, transparency flattened."""
    try:
        _draft_jpeg(image)
        return _upright(_lightness(image), image.getexif().get(ExifTags.Base.Orientation, 1))
    except _BOMB as exc:
        raise ImageTooLarge(f"image is too large to decode: {exc}") from exc
    # Hostile or damaged files make Pillow raise almost anything (OSError, SyntaxError,
    # struct.error, IndexError, ...); to the API user each one means the same thing.
    except Exception as exc:
        raise InvalidImage(UNDECODABLE) from exc


def _draft_jpeg(image: Image.Image) -> None:
    """Let the JPEG decoder skip colour (~2.5x faster) and shrink photos up to 8x (~10x faster)."""
    if image.format in ("JPEG", "MPO"):
        factor = max(image.size) / WORK_SIZE if max(image.size) > 2 * WORK_SIZE else 1
        image.draft("L", (int(image.width / factor), int(image.height / factor)))


def _lightness(image: Image.Image) -> np.ndarray:
    """Uint8 (H, W) lightness, whatever the colour mode, at most ~WORK_SIZE on the long side."""
    if image.has_transparency_data and not _colour_keyed(image):
        return _flatten_alpha(np.asarray(_reduced(image, "LA")))
    if image.mode.startswith("I;16"):  # Pillow's I;16 → L conversion clips instead of scaling
        return _to_bytes(np.asarray(_reduced(image, "F")), 0.0, 65535.0)
    if image.mode in ("I", "F"):  # 32-bit pixels: the white level is unknown
        values = np.asarray(_reduced(image, "F"))
        return _to_bytes(values, float(values.min()), float(values.max()))
    return np.asarray(_reduced(image, "L"))


def _reduced(image: Image.Image, mode: str) -> Image.Image:
    """`image` in `mode`, box-averaged (alpha-premultiplied) to about WORK_SIZE on the long side.

    Converted and reduced a strip at a time, so the decoded image stays the only full-resolution
    buffer: converting a 40-megapixel RGBA PNG whole would add 80-160 MB per upload.
    """
    factor = max(image.size) // WORK_SIZE
    if factor < 2:
        return image if image.mode == mode else image.convert(mode)
    width, height = image.size
    reduced = Image.new(mode, (-(-width // factor), -(-height // factor)))
    step = factor * STRIP_BOXES
    for top in range(0, height, step):
        strip = image.crop((0, top, width, min(top + step, height))).convert(mode)
        reduced.paste(strip.reduce(factor), (0, top // factor))
    return reduced


def _upright(lightness: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation to the small lightness array (as ImageOps.exif_transpose)."""
    if orientation not in range(2, 9):
        return lightness
    # Orientations 2-8 are flips of the rows and/or columns, then a transpose for 5-8.
    rows = -1 if orientation in (3, 4, 6, 7) else 1
    cols = -1 if orientation in (2, 3, 7, 8) else 1
    turned = lightness[::rows, ::cols]
    return np.ascontiguousarray(turned.T if orientation >= 5 else turned)


def _colour_keyed(image: Image.Image) -> bool:
    """GIF-style transparency: one colour (the paper) made invisible, and left in place here:
    compositing would turn the many opaque near-paper shades around each stroke into ink."""
    return isinstance(image.info.get("transparency"), int | tuple)


def _to_bytes(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map pixels from [low, high] onto uint8 0-255 (flat images become 0)."""
    if high == low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)


def _flatten_alpha(pair: np.ndarray) -> np.ndarray:
    """(H, W, 2) uint8 lightness and alpha → uint8 lightness composited onto paper."""
    lightness, alpha = pair[..., 0], pair[..., 1]
    if alpha.min() == 255:  # an opaque RGBA canvas, like the demo page's: nothing to composite
        return np.ascontiguousarray(lightness)
    if np.count_nonzero(alpha > 127) * 2 >= alpha.size:
        # Mostly painted: the painted part is the paper and transparent margins are holes in it.
        paper = round(float(np.median(lightness[alpha > 127])))
    else:
        # Mostly transparent: what is painted is ink (a web canvas with white strokes, say), so
        # the paper must contrast with it; plain "onto white" would erase white ink.
        ink = float(np.average(lightness, weights=alpha)) if alpha.any() else 0.0
        paper = 0 if ink > 127.5 else 255
    # Exact in uint16: lightness·alpha + paper·(255 − alpha) ≤ 255·255.
    mixed = lightness * alpha.astype(np.uint16) + (255 - alpha).astype(np.uint16) * paper
    return ((mixed + 127) // 255).astype(np.uint8)


# --- the MNIST recipe -------------------------------------------------------------------------


def measure_paper(gray: np.ndarray) -> Paper:
    """The paper's lightness and grain, from the outer frame (ink may touch it: medians)."""
    low, high = int(gray.min()), int(gray.max())
    if high == low:
        raise InvalidImage("image has no ink: it is a single flat colour")
    counts = np.bincount(_border(gray), minlength=256)
    level = _median(counts, _LEVELS)
    spread = np.abs(_LEVELS - level)
    order = np.argsort(spread, kind="stable")
    noise = 3.0 * _MAD_TO_SIGMA * _median(counts[order], spread[order])
    return Paper(level, noise, dark=level < (low + high) / 2)


def _median(counts: np.ndarray, values: np.ndarray) -> float:
    """np.median of a sample given as how many times each of the sorted `values` occurs."""
    total = np.cumsum(counts)
    middle = np.searchsorted(total, [(total[-1] - 1) // 2, total[-1] // 2], side="right")
    return float(values[middle].sum()) / 2


def _border(gray: np.ndarray) -> np.ndarray:
    """The outer frame of pixels (about 3 % of the short side thick): mostly paper on any upload."""
    band = max(1, min(gray.shape) // 32)
    sides = (gray[:band], gray[-band:], gray[band:-band, :band], gray[band:-band, -band:])
    return np.concatenate([side.ravel() for side in sides])


def crop_to_ink(gray: np.ndarray, threshold: float = CROP_THRESHOLD) -> np.ndarray:
    """Uint8 lightness → float32 ink in [0, 1] (0 = paper), over the box of the pixels whose ink
    is above `threshold` times the strongest: the only part of the image converted to floats."""
    paper = measure_paper(gray)
    peak = abs(float(gray.max() if paper.dark else gray.min()) - paper.level) - paper.noise
    if peak < MIN_CONTRAST:
        raise InvalidImage(
            f"image has no ink: nothing stands out from the background (contrast {max(peak, 0):.0f}"
            f" of 255; at least {MIN_CONTRAST:.0f} needed)"
        )
    margin = paper.noise + threshold * peak  # the cut lies strictly between paper and extreme
    if paper.dark:
        ink = gray[_bounds(gray > math.floor(paper.level + margin))].astype(np.float32)
        ink -= paper.level + paper.noise
    else:
        ink = gray[_bounds(gray < math.ceil(paper.level - margin))].astype(np.float32)
        np.subtract(paper.level - paper.noise, ink, out=ink)
    np.maximum(ink, 0.0, out=ink)
    ink *= 1.0 / peak
    return ink


def _bounds(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of the True pixels of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def fit_to_box(ink: np.ndarray, box: int = INK_BOX) -> np.ndarray:
    """Resize (Lanczos, antialiased) so the longer side is `box` px, keeping the aspect ratio."""
    height, width = ink.shape
    scale = box / max(height, width)
    rows = _lanczos(height, max(1, round(height * scale)))
    cols = _lanczos(width, max(1, round(width * scale)))
    resized: np.ndarray = rows @ np.asarray(ink, dtype=np.float32) @ cols.T
    return np.clip(resized, 0.0, None, out=resized)  # Lanczos rings slightly below zero


# Two small matrix products beat a round trip through a Pillow "F" image. Building the weights is
# most of a fit and crop sizes recur: at most 256 × 20 × ~1,000 float32 kept (20 MB), often 2 MB.
@functools.lru_cache(maxsize=256)
def _lanczos(size: int, out: int) -> np.ndarray:
    """(out, size) read-only weights of Pillow's Lanczos resize (its `precompute_coeffs`)."""
    stretch = max(size / out, 1.0)  # shrinking widens the kernel: that is the antialiasing
    centre = (np.arange(out, dtype=np.float32) + 0.5)[:, None] * np.float32(size / out)
    # Pillow's window of taps around each centre adds only zero weights to this.
    x = (np.arange(size, dtype=np.float32) - centre + 0.5) / np.float32(stretch)
    weights: np.ndarray = np.sinc(x) * np.sinc(x / 3) * (np.abs(x) < 3)
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared by every later fit of this size
    return weights


def center_by_mass(pixels: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Paste the ink into a (size, size) canvas with its centre of mass on (size/2, size/2)."""
    canvas = np.zeros((size, size), dtype=pixels.dtype)
    if not pixels.any():
        return canvas
    ink = pixels[_bounds(pixels > 0)]
    height, width = ink.shape
    if height > size or width > size:
        raise ValueError(f"ink is {width}x{height} px; it must fit in {size}x{size}")
    mass = ink.sum(dtype=np.float64)
    centre_y = float(ink.sum(axis=1, dtype=np.float64) @ np.arange(height)) / mass
    centre_x = float(ink.sum(axis=0, dtype=np.float64) @ np.arange(width)) / mass
    # Clamped rather than clipped: a lopsided digit keeps all its ink, a pixel or two off centre.
    top = min(max(round(size / 2 - centre_y), 0), size - height)
    left = min(max(round(size / 2 - centre_x), 0), size - width)
    canvas[top : top + height, left : left + width] = ink
    return canvas
