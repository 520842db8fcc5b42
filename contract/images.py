"""Image preprocessing: any uploaded picture of a digit → a (28, 28) uint8 MNIST-like array.

It repeats how MNIST itself was made: the ink is cropped, scaled to fit a 20x20 box keeping its
aspect ratio (antialiased), and pasted into 28x28 so that its centre of mass lands on (14, 14).
Before that, a real upload is normalised: EXIF orientation, transparency, any colour mode, dark ink
on white paper, faint ink and paper grain. The service reads uploads with it; the load generator
and the tests check their drawings against it. It imports only numpy and Pillow.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import ExifTags, Image

MNIST_SIZE = 28
INK_BOX = 20
MIN_SIDE = 8
MAX_PIXELS = 40_000_000
# Larger uploads are box-reduced to about this long side first: the ink ends up 20 px tall anyway,
# and a 12-megapixel photo as float32 would cost ~50 MB and tens of milliseconds per step.
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
# Pillow's own limit (~89 megapixels to warn, twice that to raise) fires inside Image.open; the
# warning is an exception too where warnings are errors (pytest -W error).
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class InvalidImage(ValueError):  # noqa: N818 - the public name every caller already uses
    """The upload is not a usable image of a digit; the message says why, for the API user."""


class ImageTooLarge(InvalidImage):
    """The image has more pixels than allowed (decompression bombs included)."""


def to_mnist(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Uploaded image bytes → (28, 28) uint8, light ink on dark, centred by mass like MNIST."""
    return mnist_from_gray(decode_gray(data, max_pixels=max_pixels))


def mnist_from_gray(gray: np.ndarray) -> np.ndarray:
    """Lightness (H, W) on a 0-255 scale, either polarity → (28, 28) uint8 MNIST digit."""
    ink = ink_map(gray)
    fitted = fit_to_box(crop_to_ink(ink), INK_BOX)
    fitted *= 255.0 / float(fitted.max())  # MNIST strokes peak at full intensity
    return center_by_mass(np.rint(fitted).astype(np.uint8), MNIST_SIZE)


# --- decoding ---------------------------------------------------------------------------------


def decode_gray(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Image bytes → float32 lightness (H, W) in 0-255, upright, transparency flattened."""
    image = _open_checked(data, max_pixels)
    try:
        _draft_jpeg(image)
        return _upright(_lightness(image), image.getexif().get(ExifTags.Base.Orientation, 1))
    except _BOMB as exc:
        raise ImageTooLarge(f"image is too large to decode: {exc}") from exc
    # Hostile or damaged files make Pillow raise almost anything (OSError, SyntaxError,
    # struct.error, IndexError, ...); to the API user each one means the same thing.
    except Exception as exc:
        raise InvalidImage(UNDECODABLE) from exc


def declared_pixels(data: bytes) -> int:
    """Width × height as the file's header states it, without decoding; 0 if unreadable."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
    except Exception:  # the decode that follows reports it properly
        return 0
    return width * height


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
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
            f"expected at most {max_pixels / 1e6:g} megapixels"
        )
    if min(width, height) < MIN_SIDE:
        raise InvalidImage(f"image is {width}x{height} px; expected at least {MIN_SIDE}x{MIN_SIDE}")
    return image


def _draft_jpeg(image: Image.Image) -> None:
    """Let the JPEG decoder downscale up to 8x as it decodes: phone photos decode ~10x faster."""
    if image.format in ("JPEG", "MPO") and max(image.size) > 2 * WORK_SIZE:
        width, height = image.size
        factor = max(image.size) / WORK_SIZE
        image.draft("L", (int(width / factor), int(height / factor)))


def _lightness(image: Image.Image) -> np.ndarray:
    """Float32 (H, W) lightness on a 0-255 scale, whatever the colour mode, at most ~WORK_SIZE."""
    if image.has_transparency_data and not _colour_keyed(image):
        pair = np.asarray(_reduced(image, "LA"), dtype=np.float32)  # (H, W, 2)
        return _flatten_alpha(pair[..., 0], pair[..., 1] / 255.0)
    if image.mode.startswith("I;16"):  # Pillow's I;16 → L conversion clips instead of scaling
        return np.asarray(_reduced(image, "F"), dtype=np.float32) / 257.0
    if image.mode in ("I", "F"):
        return _stretch(np.asarray(_reduced(image, "F"), dtype=np.float32))
    return np.asarray(_reduced(image, "L"), dtype=np.float32)


def _reduced(image: Image.Image, mode: str) -> Image.Image:
    """`image` in `mode`, box-averaged (alpha-premultiplied) to about WORK_SIZE on the long side.

    Converted and reduced a strip at a time, so the decoded image stays the only full-resolution
    buffer: converting a 40-megapixel RGBA PNG whole would add 80-160 MB per upload.
    """
    factor = max(image.size) // WORK_SIZE
    if factor < 2:
        return image.convert(mode)
    width, height = image.size
    reduced = Image.new(mode, (-(-width // factor), -(-height // factor)))
    step = factor * STRIP_BOXES
    for top in range(0, height, step):
        strip = image.crop((0, top, width, min(top + step, height))).convert(mode)
        reduced.paste(strip.reduce(factor), (0, top // factor))
    return reduced


def _upright(lightness: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation to the small lightness array (as ImageOps.exif_transpose)."""
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].T,
        8: lambda a: np.rot90(a),
    }.get(orientation)
    return np.ascontiguousarray(turned(lightness)) if turned else lightness


def _colour_keyed(image: Image.Image) -> bool:
    """GIF-style transparency: one colour made invisible, which is the paper the author removed.

    Ignoring the key leaves that colour in place; compositing instead would turn the many opaque
    near-paper shades around each stroke into ink.
    """
    return isinstance(image.info.get("transparency"), int | tuple)


def _stretch(values: np.ndarray) -> np.ndarray:
    """Map 32-bit int or float pixels, whose white level is unknown, onto 0-255."""
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.zeros_like(values)
    return (values - low) * (255.0 / (high - low))


def _flatten_alpha(lightness: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite onto paper: transparent pixels are background, whatever colour the ink has."""
    opaque = alpha > 0.5
    if opaque.mean() >= 0.5:
        # Mostly painted: the painted part is the paper and transparent margins are holes in it.
        paper = float(np.median(lightness[opaque]))
    else:
        # Mostly transparent: what is painted is ink (a web canvas with white strokes, say), so
        # the paper must contrast with it; plain "onto white" would erase white ink.
        weight = float(alpha.sum())
        ink = float((lightness * alpha).sum()) / weight if weight else 0.0
        paper = 0.0 if ink > 127.5 else 255.0
    composited: np.ndarray = lightness * alpha + paper * (1.0 - alpha)
    return composited


# --- the MNIST recipe -------------------------------------------------------------------------


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Lightness (H, W), 0-255 → float32 ink in [0, 1] with 0 = paper, whatever the polarity."""
    low, high = float(gray.min()), float(gray.max())
    if high == low:
        raise InvalidImage("image has no ink: it is a single flat colour")
    border = _border(gray)
    paper = float(np.median(border))
    ink: np.ndarray = np.subtract(paper, gray, dtype=np.float32)
    if paper < (low + high) / 2:  # dark paper: already MNIST's light-on-dark
        np.negative(ink, out=ink)
    # Paper grain and sensor noise, measured robustly on the border (ink may touch it).
    noise = 3.0 * _MAD_TO_SIGMA * float(np.median(np.abs(border - paper)))
    ink -= noise
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise InvalidImage(
            f"image has no ink: nothing stands out from the background (contrast {max(peak, 0):.0f}"
            f" of 255; at least {MIN_CONTRAST:.0f} needed)"
        )
    np.clip(ink, 0.0, None, out=ink)
    ink *= 1.0 / peak
    return ink


def _border(gray: np.ndarray) -> np.ndarray:
    """The outer frame of pixels (about 3 % of the short side thick): mostly paper on any upload."""
    band = max(1, min(gray.shape) // 32)
    return np.concatenate(
        [
            gray[:band].ravel(),
            gray[-band:].ravel(),
            gray[band:-band, :band].ravel(),
            gray[band:-band, -band:].ravel(),
        ]
    )


def crop_to_ink(ink: np.ndarray, threshold: float = CROP_THRESHOLD) -> np.ndarray:
    """A view of the bounding box of the pixels above `threshold` times the strongest ink."""
    mask = ink > threshold * float(ink.max())
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise InvalidImage("image has no ink: nothing stands out from the background")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_to_box(ink: np.ndarray, box: int = INK_BOX) -> np.ndarray:
    """Resize (Lanczos, antialiased) so the longer side is `box` px, keeping the aspect ratio."""
    height, width = ink.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    source = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32))
    resized = np.asarray(source.resize(size, Image.Resampling.LANCZOS))
    clipped: np.ndarray = np.clip(resized, 0.0, None)  # Lanczos rings slightly below zero
    return clipped


def center_by_mass(pixels: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Paste the ink into a (size, size) canvas with its centre of mass on (size/2, size/2)."""
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    canvas = np.zeros((size, size), dtype=pixels.dtype)
    if rows.size == 0:
        return canvas
    ink = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
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
