"""Photos built by Pillow and piexif for the imaging tests, written to pytest's tmp_path."""

import io
import struct
import zlib

import piexif
import pillow_heif
import pytest
from PIL import Image, ImageCms

RED = (255, 0, 0)
WHITE = (255, 255, 255)

XMP_PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Utrecht"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _exif_with_gps(orientation: int) -> bytes:
    """Return an EXIF block as a phone writes it: orientation, camera, maker note and GPS."""
    return piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Orientation: orientation,
                piexif.ImageIFD.Make: b"Samen Test Camera",
                piexif.ImageIFD.Model: b"Model 6",
            },
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: b"2026:03:02 09:15:00",
                piexif.ExifIFD.MakerNote: b"maker-note-with-serial-1234",
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((52, 1), (5, 1), (2400, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((5, 1), (7, 1), (3000, 100)),
            },
        }
    )


@pytest.fixture
def rotated_jpeg(tmp_path):
    """Return a 400x200 JPEG stored sideways with EXIF orientation 6 and a red top-left block.

    The file also carries GPS, camera make and model, a maker note, XMP, a comment and an sRGB
    ICC profile, all of which must be removed.
    """
    image = Image.new("RGB", (400, 200), WHITE)
    image.paste(RED, (0, 0, 100, 50))
    path = tmp_path / "IMG_0001.jpg"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(
        path,
        format="JPEG",
        quality=95,
        exif=_exif_with_gps(orientation=6),
        xmp=XMP_PACKET,
        comment=b"Mila at the sandpit",
        icc_profile=srgb,
    )
    return path


@pytest.fixture
def transparent_png(tmp_path):
    """Return a 64x64 RGBA PNG: transparent left half, opaque blue right half."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (32, 0, 64, 64))
    path = tmp_path / "sticker.png"
    image.save(path, format="PNG")
    return path


@pytest.fixture
def cmyk_jpeg(tmp_path):
    """Return a CMYK JPEG filled with pure red (no cyan, full magenta and yellow)."""
    image = Image.new("CMYK", (120, 80), (0, 255, 255, 0))
    path = tmp_path / "print.jpg"
    image.save(path, format="JPEG", quality=95)
    return path


@pytest.fixture
def palette_png(tmp_path):
    """Return a palette PNG as GIF conversions produce: green, with transparent index 0 on top."""
    image = Image.new("P", (50, 40), 1)
    image.putpalette([0, 0, 0, 0, 128, 0] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 50, 10))
    path = tmp_path / "animation-frame.png"
    image.save(path, format="PNG", transparency=0)
    return path


@pytest.fixture
def gray16_png(tmp_path):
    """Return a 16-bit grayscale PNG at value 32768, which is mid-gray (128) in 8 bits."""
    image = Image.new("I;16", (30, 20), 32768)
    path = tmp_path / "scan.png"
    image.save(path, format="PNG")
    return path


@pytest.fixture
def heic_photo(tmp_path):
    """Return a 300x200 HEIC as an iPhone stores it, with GPS in its EXIF."""
    image = Image.new("RGB", (300, 200), (20, 120, 200))
    image.paste(RED, (0, 0, 60, 40))
    path = tmp_path / "IMG_0002.HEIC"
    pillow_heif.from_pillow(image).save(path, quality=90, exif=_exif_with_gps(orientation=1))
    return path


@pytest.fixture
def large_jpeg_bytes():
    """Return a 4000x3000 JPEG (12 megapixels) with a gradient, as a phone camera produces."""
    gradient = Image.linear_gradient("L").resize((4000, 3000))
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@pytest.fixture
def bomb_png(tmp_path):
    """Return a PNG of a few dozen bytes whose header declares 100000x100000 RGB pixels."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    compressed_rows = zlib.compress(b"\x00" * 1024)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", compressed_rows)
        + _png_chunk(b"IEND", b"")
    )
    path = tmp_path / "tiny.png"
    path.write_bytes(data)
    return path


@pytest.fixture
def rotated_heic(tmp_path):
    """Return a 400x200 HEIC with EXIF orientation 6 and a red top-left block."""
    image = Image.new("RGB", (400, 200), WHITE)
    image.paste(RED, (0, 0, 100, 50))
    path = tmp_path / "IMG_0003.HEIC"
    pillow_heif.from_pillow(image).save(path, quality=90, exif=_exif_with_gps(orientation=6))
    return path
