import io
import subprocess
import sys
import textwrap
import tracemalloc

import eventlet
import piexif
import pytest
from PIL import Image

from samen_media import imaging

RED = (255, 0, 0)


def open_variant(variant: imaging.ImageVariant) -> Image.Image:
    image = Image.open(io.BytesIO(variant.data))
    assert image.format == "JPEG"
    assert variant.content_type == "image/jpeg"
    assert image.size == (variant.width, variant.height)
    return image


def assert_close(actual, expected, tolerance=12):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected)), (actual, expected)


def pixel_at(image: Image.Image, x_fraction: float, y_fraction: float):
    x = int(image.width * x_fraction)
    y = int(image.height * y_fraction)
    return image.convert("RGB").getpixel((x, y))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heif"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "heif"),
        (b"\x00\x00\x00\x18ftypXXXX\x00\x00\x00\x00hevcXXXX", "heif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"%PDF-1.7\n", None),
        (b"<svg xmlns=", None),
        (b"", None),
    ],
)
def test_sniff_type_magic_bytes(head, expected):
    assert imaging.sniff_type(head) == expected


def test_inspect_reads_header(rotated_jpeg, heic_photo):
    assert imaging.inspect(rotated_jpeg) == imaging.ImageInfo("jpeg", 400, 200)
    assert imaging.inspect(heic_photo) == imaging.ImageInfo("heif", 300, 200)

    with open(rotated_jpeg, "rb") as file:
        assert imaging.inspect(file).kind == "jpeg"


def test_orientation_6_upright_everywhere(rotated_jpeg):
    result = imaging.process(rotated_jpeg)

    assert set(result.variants) == {"original", "screen", "thumb"}
    expected_sizes = {"original": (200, 400), "screen": (200, 400), "thumb": (160, 320)}
    for name, variant in result.variants.items():
        image = open_variant(variant)
        assert image.size == expected_sizes[name], name

        # Stored top-left is shown top-right after turning the photo 90 degrees clockwise.
        assert_close(pixel_at(image, 0.875, 0.125), RED)
        assert_close(pixel_at(image, 0.125, 0.125), (255, 255, 255))
        assert_close(pixel_at(image, 0.875, 0.875), (255, 255, 255))


def test_heic_orientation_6_rotated_once(rotated_heic):
    # pillow_heif 1.9 applies the EXIF orientation while opening and resets it to 1, so
    # `process` must not turn the photo a second time.
    for variant in imaging.process(rotated_heic).variants.values():
        image = open_variant(variant)
        assert image.height > image.width
        assert_close(pixel_at(image, 0.875, 0.125), RED, tolerance=25)
        assert_close(pixel_at(image, 0.125, 0.125), (255, 255, 255), tolerance=25)


def test_metadata_removed_from_every_variant(rotated_jpeg, heic_photo):
    # The source really carries what must be removed, or this test would prove nothing.
    source_exif = piexif.load(str(rotated_jpeg))
    assert source_exif["GPS"]
    assert source_exif["0th"][piexif.ImageIFD.Make] == b"Samen Test Camera"

    for path in (rotated_jpeg, heic_photo):
        for name, variant in imaging.process(path).variants.items():
            image = open_variant(variant)
            label = f"{path.name} {name}"

            assert len(image.getexif()) == 0, label
            assert "exif" not in image.info, label
            assert "xmp" not in image.info, label
            assert "icc_profile" not in image.info, label
            assert "comment" not in image.info, label

            exif = piexif.load(variant.data)
            assert not exif["GPS"], label
            assert not exif["0th"], label
            assert not exif["Exif"], label

            assert b"Exif\x00\x00" not in variant.data, label
            assert b"ns.adobe.com" not in variant.data, label
            assert b"ICC_PROFILE" not in variant.data, label
            assert b"Samen Test Camera" not in variant.data, label
            assert b"Mila" not in variant.data, label


def test_transparent_png_on_white(transparent_png):
    result = imaging.process(transparent_png)

    assert result.source_kind == "png"
    for variant in result.variants.values():
        image = open_variant(variant)
        assert image.mode == "RGB"
        assert_close(pixel_at(image, 0.2, 0.5), (255, 255, 255))
        assert_close(pixel_at(image, 0.8, 0.5), (0, 0, 255))


def test_cmyk_jpeg_becomes_rgb(cmyk_jpeg):
    assert Image.open(cmyk_jpeg).mode == "CMYK"

    for variant in imaging.process(cmyk_jpeg).variants.values():
        image = open_variant(variant)
        assert image.mode == "RGB"
        assert_close(pixel_at(image, 0.5, 0.5), RED, tolerance=20)


def test_palette_png_with_transparency(palette_png):
    for variant in imaging.process(palette_png).variants.values():
        image = open_variant(variant)
        assert image.mode == "RGB"
        assert_close(pixel_at(image, 0.5, 0.1), (255, 255, 255))
        assert_close(pixel_at(image, 0.5, 0.75), (0, 128, 0))


def test_16_bit_gray_scaled_not_clipped(gray16_png):
    assert Image.open(gray16_png).mode.startswith("I")

    image = open_variant(imaging.process(gray16_png).original)
    assert image.mode == "L"
    assert abs(image.getpixel((15, 10)) - 128) <= 2


def test_heic_accepted_and_processed(heic_photo):
    result = imaging.process(heic_photo)

    assert result.source_kind == "heif"
    original = open_variant(result.original)
    assert original.size == (300, 200)
    assert_close(pixel_at(original, 0.1, 0.1), RED, tolerance=25)
    assert open_variant(result.variants["thumb"]).size == (300, 200)


def test_small_image_never_enlarged(cmyk_jpeg):
    result = imaging.process(cmyk_jpeg, sizes={"thumb": 60, "screen": 1280})

    assert (result.variants["screen"].width, result.variants["screen"].height) == (120, 80)
    assert (result.variants["thumb"].width, result.variants["thumb"].height) == (60, 40)


def test_large_jpeg_sizes(large_jpeg_bytes):
    result = imaging.process(io.BytesIO(large_jpeg_bytes))

    assert (result.original.width, result.original.height) == (4000, 3000)
    assert (result.variants["screen"].width, result.variants["screen"].height) == (1280, 960)
    assert (result.variants["thumb"].width, result.variants["thumb"].height) == (320, 240)


def test_bomb_rejected_with_small_memory(bomb_png):
    tracemalloc.start()
    try:
        for call in (imaging.inspect, imaging.process):
            with pytest.raises(imaging.ImageTooLarge) as caught:
                call(bomb_png)
            assert caught.value.code == "too_many_pixels"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2_000_000


def test_bomb_rejected_with_small_rss(bomb_png):
    # tracemalloc does not see Pillow's pixel buffers, so also measure the process RSS peak.
    script = textwrap.dedent(
        f"""
        import resource, sys
        from samen_media import imaging
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            imaging.process({str(bomb_png)!r})
        except imaging.ImageTooLarge:
            pass
        else:
            sys.exit("bomb accepted")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(after - before)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(sys.path)},
    )
    growth_kib = int(completed.stdout.strip())
    assert growth_kib < 20_000


def test_max_pixels_configurable(rotated_jpeg):
    with pytest.raises(imaging.ImageTooLarge):
        imaging.inspect(rotated_jpeg, max_pixels=400 * 200 - 1)

    assert imaging.inspect(rotated_jpeg, max_pixels=400 * 200).width == 400


def test_text_named_jpg_unsupported(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("Dit is geen foto, maar een tekstbestand.\n")

    for call in (imaging.inspect, imaging.process):
        with pytest.raises(imaging.UnsupportedImage) as caught:
            call(path)
        assert caught.value.code == "unsupported_type"
        assert caught.value.http_status == 415


def test_gif_unsupported(tmp_path):
    path = tmp_path / "animation.gif"
    Image.new("P", (10, 10)).save(path, format="GIF")

    with pytest.raises(imaging.UnsupportedImage):
        imaging.process(path)


def test_png_named_jpg_processed_as_png(transparent_png, tmp_path):
    renamed = tmp_path / "photo.jpg"
    renamed.write_bytes(transparent_png.read_bytes())

    assert imaging.process(renamed).source_kind == "png"


def test_truncated_jpeg_corrupt(large_jpeg_bytes, tmp_path):
    path = tmp_path / "upload-interrupted.jpg"
    path.write_bytes(large_jpeg_bytes[: len(large_jpeg_bytes) // 2])

    with pytest.raises(imaging.CorruptImage) as caught:
        imaging.process(path)
    assert caught.value.code == "corrupt_image"


def test_jpeg_magic_with_garbage_corrupt(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * 200)

    with pytest.raises(imaging.CorruptImage):
        imaging.process(path)


@pytest.mark.parametrize(
    "error_type", [imaging.UnsupportedImage, imaging.ImageTooLarge, imaging.CorruptImage]
)
def test_errors_carry_dutch_and_english(error_type):
    error = error_type("detail for the log")

    assert isinstance(error, imaging.ImagingError)
    assert set(error.messages) == {"nl", "en"}
    assert error.messages["nl"] != error.messages["en"]
    assert 400 <= error.http_status < 500
    assert error.detail == "detail for the log"


def test_original_name_reserved(rotated_jpeg):
    with pytest.raises(ValueError):
        imaging.process(rotated_jpeg, sizes={"original": 100})


def count_ticks_during(call):
    """Return how often a green thread ran every 5 ms while `call` ran in another one."""
    ticks = 0
    running = True

    def tick():
        nonlocal ticks
        while running:
            ticks += 1
            eventlet.sleep(0.005)

    ticker = eventlet.spawn(tick)
    eventlet.sleep(0)
    ticks = 0
    result = eventlet.spawn(call).wait()
    running = False
    ticker.wait()
    return ticks, result


def test_process_in_thread_keeps_hub_running(large_jpeg_bytes):
    blocked_ticks, _ = count_ticks_during(lambda: imaging.process(io.BytesIO(large_jpeg_bytes)))
    ticks, result = count_ticks_during(
        lambda: imaging.process_in_thread(io.BytesIO(large_jpeg_bytes))
    )

    # A plain call blocks the hub for the whole photo, so the ticker gets at most one turn.
    assert blocked_ticks <= 1
    assert ticks >= 10
    assert result.original.width == 4000
