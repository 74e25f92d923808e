"""Validate uploaded photos and produce metadata-free JPEG variants.

Every function here is plain, blocking code. A nameko service runs under eventlet and calls
`process_in_thread`, which moves the CPU-heavy work into eventlet's native thread pool so the
hub keeps serving AMQP heartbeats and other green threads.

Stored original: every source (JPEG, PNG, WebP, HEIF/AVIF) is re-encoded as a full-resolution
JPEG. One output type keeps downloads, ZIP archives and metadata removal on a single code path.
The cost is that transparency is flattened onto white and a PNG screenshot is stored lossy.

Memory: `bench/photos.py` measured a worker's RSS peak at 112 MB above its 26 MB after imports
while processing 4000x3000 JPEGs (2-core machine, Python 3.11, Pillow 13.0). The decoded image
takes 36 MB (3 bytes per pixel), a rotated copy for EXIF orientation 6 another 36 MB, plus the
source bytes and the encoded original. tracemalloc does not see Pillow's pixel buffers.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import IO, Mapping, Union

import pillow_heif
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

DEFAULT_MAX_PIXELS = 50_000_000
"""Largest accepted width * height (50 megapixels); phone cameras produce 12 to 48."""

# Pillow checks this limit itself in Image.open: it warns above the value and raises
# DecompressionBombError above twice the value. `inspect` enforces `max_pixels` on its own, so a
# caller that passes a larger `max_pixels` is still bounded by Pillow at 2 * DEFAULT_MAX_PIXELS.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

DEFAULT_SIZES: Mapping[str, int] = {"thumb": 320, "screen": 1280}
"""Derivative name to the maximum length in pixels of its longer side."""

ORIGINAL_VARIANT = "original"
ORIGINAL_QUALITY = 90
DERIVATIVE_QUALITY = 85
JPEG_CONTENT_TYPE = "image/jpeg"

SNIFF_BYTES = 64
"""Bytes `sniff_type` needs to see: the HEIF ftyp box lists its compatible brands in them."""

_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
     b"mif1", b"mif2", b"msf1", b"avif", b"avis"}
)

# Pillow format name to the kind `sniff_type` returns. MPO is how Pillow names the multi-picture
# JPEGs that some phones write.
_KIND_BY_PILLOW_FORMAT = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "HEIF": "heif",
    "AVIF": "heif",
}

# Pillow's JPEG opener returns MPO images itself, so MPO is no opener name of its own.
_PILLOW_OPENERS = ["JPEG", "PNG", "WEBP", "HEIF", "AVIF"]

# EXIF orientation value to the transpose that shows the image upright (EXIF 2.32, tag 0x0112).
_TRANSPOSE_BY_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_WHITE = (255, 255, 255)
_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImagingError(Exception):
    """Rejected or unreadable upload, with a stable `code` and a staff message per language."""

    code = "imaging_error"
    http_status = 422
    messages: Mapping[str, str] = {
        "nl": "De foto kon niet worden verwerkt.",
        "en": "The photo could not be processed.",
    }

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnsupportedImage(ImagingError):
    code = "unsupported_type"
    http_status = 415
    messages = {
        "nl": "Dit bestand is geen foto in een ondersteund formaat (JPEG, PNG, WebP of HEIC).",
        "en": "This file is not a photo in a supported format (JPEG, PNG, WebP or HEIC).",
    }


class ImageTooLarge(ImagingError):
    code = "too_many_pixels"
    http_status = 422
    messages = {
        "nl": "Deze foto heeft te veel pixels. Verklein de foto tot hoogstens 50 megapixel.",
        "en": "This photo has too many pixels. Reduce it to at most 50 megapixels.",
    }


class CorruptImage(ImagingError):
    code = "corrupt_image"
    http_status = 422
    messages = {
        "nl": "Deze foto is beschadigd of onvolledig. Upload de foto opnieuw.",
        "en": "This photo is damaged or incomplete. Upload it again.",
    }


@dataclass(frozen=True)
class ImageInfo:
    kind: str
    width: int
    height: int


@dataclass(frozen=True)
class ImageVariant:
    data: bytes
    width: int
    height: int
    content_type: str = JPEG_CONTENT_TYPE


@dataclass(frozen=True)
class ProcessedImage:
    """Source kind and the encoded variants, keyed by "original" and the names in `sizes`."""

    source_kind: str
    variants: dict[str, ImageVariant] = field(default_factory=dict)

    @property
    def original(self) -> ImageVariant:
        return self.variants[ORIGINAL_VARIANT]


Source = Union[str, os.PathLike, IO[bytes]]


def sniff_type(head: bytes) -> str | None:
    """Return "jpeg", "png", "webp" or "heif" from the magic bytes in `head`, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and _has_heif_brand(head):
        return "heif"
    return None


def _has_heif_brand(head: bytes) -> bool:
    # ISO BMFF ftyp box: 4-byte size, "ftyp", major brand, minor version, then compatible brands.
    box_size = int.from_bytes(head[0:4], "big")
    box_end = min(max(box_size, 16), len(head))
    brands = [head[8:12]]
    brands += [head[offset:offset + 4] for offset in range(16, box_end - 3, 4)]
    return any(brand in _HEIF_BRANDS for brand in brands)


def inspect(source: Source, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Read the header of `source` and return its kind and size without decoding pixels.

    Raises UnsupportedImage, ImageTooLarge or CorruptImage.
    """
    image, kind = _open_checked(source, max_pixels)
    with image:
        return ImageInfo(kind=kind, width=image.width, height=image.height)


def _open_checked(source: Source, max_pixels: int) -> tuple[Image.Image, str]:
    """Open `source` lazily after checking magic bytes, Pillow's format and the pixel count."""
    kind = sniff_type(_read_head(source))
    if kind is None:
        raise UnsupportedImage("magic bytes match no supported image type")

    try:
        # Given a path, Pillow owns the file and closes it with the image or after load().
        image = Image.open(source, formats=_PILLOW_OPENERS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise CorruptImage(f"{kind} header could not be parsed: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImage(f"{kind} header is invalid: {exc}") from exc

    pillow_kind = _KIND_BY_PILLOW_FORMAT.get(image.format or "")
    if pillow_kind != kind:
        image.close()
        raise UnsupportedImage(f"magic bytes say {kind} but Pillow read {image.format}")

    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise ImageTooLarge(
            f"{image.width}x{image.height} is {pixels} pixels, the maximum is {max_pixels}"
        )
    return image, kind


def _read_head(source: Source) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            return file.read(SNIFF_BYTES)
    source.seek(0)
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    return head


def process(
    source: Source,
    *,
    sizes: Mapping[str, int] = DEFAULT_SIZES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedImage:
    """Validate `source` and encode the upright, sRGB, metadata-free original and derivatives.

    Each derivative fits in a square of `sizes[name]` pixels and is never enlarged. Raises
    UnsupportedImage, ImageTooLarge or CorruptImage. Blocks for about 0.28 s per 12-megapixel
    JPEG (measured by `bench/photos.py` on 2 cores), so code running under eventlet calls `process_in_thread` instead.
    """
    if ORIGINAL_VARIANT in sizes:
        raise ValueError(f"{ORIGINAL_VARIANT!r} is reserved for the full-size variant")

    if isinstance(source, (str, os.PathLike)):
        # Both decodes below read these bytes, and no file handle outlives this call. The
        # gateway bounds the upload size, so the copy is a few megabytes next to the pixels.
        with open(source, "rb") as file:
            source = io.BytesIO(file.read())

    image, kind = _open_checked(source, max_pixels)
    orientation = _read_orientation(image)
    full = _to_srgb(_decode(image))

    # A progressive full-size JPEG took six times longer to encode (0.36 s against 0.06 s for
    # 12 megapixels), so only the derivatives that browsers show while loading are progressive.
    variants = {
        ORIGINAL_VARIANT: _encode(_upright(full, orientation), ORIGINAL_QUALITY, progressive=False)
    }

    largest = max(sizes.values(), default=0)
    if kind == "jpeg" and largest:
        # The full image is no longer needed. Decoding again with draft() lets libjpeg scale
        # by 1/2, 1/4 or 1/8 while decoding, which is faster and smaller than resizing `full`.
        del full, image
        image, _ = _open_checked(source, max_pixels)
        image.draft("RGB", (largest, largest))
        resize_source = _to_srgb(_decode(image))
    else:
        resize_source = full

    # Largest first, so each smaller size is resized from the previous, already smaller result.
    for name, size in sorted(sizes.items(), key=lambda item: item[1], reverse=True):
        resize_source = _fit(resize_source, size)
        variants[name] = _encode(
            _upright(resize_source, orientation), DERIVATIVE_QUALITY, progressive=True
        )

    return ProcessedImage(source_kind=kind, variants=variants)


def _read_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, SyntaxError, ValueError, TypeError) as exc:
        # A broken EXIF block only loses the rotation; the photo itself is still usable.
        log.warning("EXIF orientation unreadable, keeping the stored orientation: %s", exc)
        return 1


def _decode(image: Image.Image) -> Image.Image:
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImage(f"{image.format} data could not be decoded: {exc}") from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Return an RGB image in sRGB, or an L image for grayscale, with transparency on white."""
    icc_profile = image.info.get("icc_profile")

    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # convert("L") clips 16-bit values at 255, so scale 0..65535 down to 0..255 first.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode == "RGBa":
        image = image.convert("RGBA")

    if image.mode in ("RGBA", "LA"):
        image = _flatten_on_white(image)

    if image.mode == "L":
        # NOTE: a grayscale ICC profile is dropped without conversion; gray gamma differences
        # between profiles are small, and no test covers a gray profile.
        return image

    if image.mode not in ("RGB", "CMYK"):
        image = image.convert("RGB")

    if icc_profile and not _is_srgb(icc_profile):
        converted = _convert_profile(image, icc_profile)
        if converted is not None:
            return converted

    return image if image.mode == "RGB" else image.convert("RGB")


def _flatten_on_white(image: Image.Image) -> Image.Image:
    target_mode = "L" if image.mode == "LA" else "RGB"
    background = Image.new(target_mode, image.size, 255 if target_mode == "L" else _WHITE)
    background.paste(image.convert(target_mode), mask=image.getchannel("A"))
    return background


def _is_srgb(icc_profile: bytes) -> bool:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return "srgb" in ImageCms.getProfileDescription(profile).lower()
    except (ImageCms.PyCMSError, OSError):
        return False


def _convert_profile(image: Image.Image, icc_profile: bytes) -> Image.Image | None:
    # NOTE: no test converts a CMYK or Display P3 profile, because no such ICC file is
    # available to the tests. Only the sRGB skip and the plain CMYK conversion are covered.
    try:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(
            image, source_profile, _SRGB_PROFILE, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        # Colours may shift slightly, but the photo stays usable, so keep the plain conversion.
        log.warning("ICC profile conversion to sRGB failed, converting without it: %s", exc)
        return None


def _fit(image: Image.Image, size: int) -> Image.Image:
    if image.width <= size and image.height <= size:
        return image
    scale = size / max(image.width, image.height)
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE_BY_ORIENTATION.get(orientation)
    return image if method is None else image.transpose(method)


def _encode(image: Image.Image, quality: int, *, progressive: bool) -> ImageVariant:
    # Pillow's JPEG encoder copies `comment` from image.info, and exif, xmp and icc_profile
    # when passed as arguments. Clearing info and passing none of them writes no metadata.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, progressive=progressive)
    return ImageVariant(data=buffer.getvalue(), width=image.width, height=image.height)


_thread_slots = None
_thread_slots_lock = threading.Lock()


def process_in_thread(
    source: Source,
    *,
    sizes: Mapping[str, int] = DEFAULT_SIZES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedImage:
    """Run `process` in eventlet's native thread pool and wait cooperatively for its result.

    The caller must run in an eventlet green thread (as nameko workers do). At most one photo
    per CPU is processed at a time in this process, so memory stays bounded by that many photos.
    Further callers wait on a green semaphore without blocking the hub. Pillow releases the GIL
    while decoding, resizing and encoding, so the photos run in parallel.
    """
    from eventlet import tpool

    with _green_thread_slots():
        return tpool.execute(process, source, sizes=sizes, max_pixels=max_pixels)


def _green_thread_slots():
    global _thread_slots
    with _thread_slots_lock:
        if _thread_slots is None:
            from eventlet.semaphore import Semaphore

            _thread_slots = Semaphore(os.cpu_count() or 1)
    return _thread_slots
