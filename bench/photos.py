"""Measure photo processing throughput: a bare Pillow loop against `samen_media.imaging.process`.

Generates seeded, deterministic 12-megapixel JPEGs (gradients plus noise, with EXIF orientation
and GPS like phone photos) in a temporary directory, times both pipelines over the same files,
and measures the RSS peak of a separate worker process running `process`.

    .venv/bin/python bench/photos.py --json                     # 40 photos of 4000x3000
    .venv/bin/python bench/photos.py --count 3 --repeat 1 --width 640 --height 480 --json
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import PIL
import piexif
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "media"))

from samen_media import imaging  # noqa: E402


def generate_photo(path: Path, width: int, height: int, seed: int) -> None:
    """Write a JPEG that compresses like a photo: smooth gradients, coarse blotches, fine grain."""
    rng = random.Random(seed)

    red = Image.linear_gradient("L").rotate(rng.randrange(360)).resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))
    base = Image.merge("RGB", (red, green, blue))

    coarse_size = (max(1, width // 16), max(1, height // 16))
    coarse = Image.frombytes("RGB", coarse_size, rng.randbytes(coarse_size[0] * coarse_size[1] * 3))
    coarse = coarse.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")

    photo = Image.blend(Image.blend(base, coarse, 0.35), grain, 0.12)
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Orientation: rng.choice([1, 6]),
                piexif.ImageIFD.Make: b"Bench Camera",
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((52, 1), (5, 1), (rng.randrange(6000), 100)),
            },
        }
    )
    photo.save(path, format="JPEG", quality=90, exif=exif)


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def bare_pillow(path: Path) -> None:
    """Produce what `imaging.process` produces, with plain Pillow and nothing else.

    A full-size upright JPEG at quality 90, then a 1280 and a 320 pixel upright progressive JPEG
    at quality 85 from a second decode with draft(). Left out: signature, size and format checks,
    colour profile conversion and metadata removal.
    """
    with Image.open(path) as image:
        full = ImageOps.exif_transpose(image.convert("RGB"))
    full.save(io.BytesIO(), format="JPEG", quality=90)
    del full
    with Image.open(path) as image:
        orientation = image.getexif().get(0x0112, 1)
        image.draft("RGB", (1280, 1280))
        screen = image.convert("RGB").resize(fit(image.size, 1280), Image.Resampling.LANCZOS, reducing_gap=2.0)
    thumb = screen.resize(fit(screen.size, 320), Image.Resampling.LANCZOS, reducing_gap=2.0)
    for variant in (screen, thumb):
        upright = variant.transpose(TRANSPOSE[orientation]) if orientation in TRANSPOSE else variant
        upright.save(io.BytesIO(), format="JPEG", quality=85, progressive=True)


# EXIF orientation to the transpose that makes the image upright.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def samen_process(path: Path) -> None:
    imaging.process(path)


def measure(pipeline, paths: list[Path], repeat: int, warmup: int) -> dict:
    """Return photos per second over `repeat` timed passes after `warmup` untimed passes."""
    for _ in range(warmup):
        for path in paths:
            pipeline(path)

    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        for path in paths:
            pipeline(path)
        rates.append(len(paths) / (time.perf_counter() - started))

    return {
        "photos_per_second_median": round(statistics.median(rates), 3),
        "photos_per_second_min": round(min(rates), 3),
        "photos_per_second_max": round(max(rates), 3),
        "photos_per_second_stdev": round(statistics.stdev(rates), 3) if len(rates) > 1 else 0.0,
        "passes": len(rates),
    }


def peak_rss_kib() -> int:
    """Return this process's RSS peak in KiB.

    Linux keeps ru_maxrss across fork and exec, so a spawned worker would report its parent's
    peak. VmHWM in /proc/self/status belongs to the current process image only.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_peak_rss(paths: list[str], queue) -> None:
    """Process every photo once in this fresh process and report its RSS peaks in KiB."""
    baseline_kib = peak_rss_kib()
    for path in paths:
        imaging.process(path)
    queue.put({"baseline_kib": baseline_kib, "peak_kib": peak_rss_kib()})


def measure_worker_memory(paths: list[Path]) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=worker_peak_rss, args=([str(p) for p in paths], queue))
    worker.start()
    result = queue.get(timeout=600)
    worker.join()

    return {
        "worker_rss_after_imports_mb": round(result["baseline_kib"] / 1024, 1),
        "worker_rss_peak_mb": round(result["peak_kib"] / 1024, 1),
        "worker_rss_growth_mb": round((result["peak_kib"] - result["baseline_kib"]) / 1024, 1),
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="number of photos to generate")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per pipeline")
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes before timing")
    parser.add_argument("--width", type=int, default=4000, help="photo width in pixels")
    parser.add_argument("--height", type=int, default=3000, help="photo height in pixels")
    parser.add_argument("--seed", type=int, default=20261204, help="seed of the first photo")
    parser.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()

    with tempfile.TemporaryDirectory(prefix="samen-bench-photos-") as directory:
        started = time.perf_counter()
        paths = []
        for index in range(arguments.count):
            path = Path(directory) / f"photo-{index:03d}.jpg"
            generate_photo(path, arguments.width, arguments.height, arguments.seed + index)
            paths.append(path)
        generation_seconds = time.perf_counter() - started
        mean_file_bytes = statistics.mean(path.stat().st_size for path in paths)

        bare = measure(bare_pillow, paths, arguments.repeat, arguments.warmup)
        full = measure(samen_process, paths, arguments.repeat, arguments.warmup)
        memory = measure_worker_memory(paths)

    result = {
        "photos": arguments.count,
        "width": arguments.width,
        "height": arguments.height,
        "mean_file_mb": round(mean_file_bytes / 1_000_000, 2),
        "generation_seconds": round(generation_seconds, 1),
        "bare_pillow": bare,
        "imaging_process": full,
        "ratio_process_to_bare": round(
            full["photos_per_second_median"] / bare["photos_per_second_median"], 3
        ),
        **memory,
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "cpu_count": multiprocessing.cpu_count(),
    }

    if arguments.json:
        print(json.dumps(result, indent=2))
        return
    for name, value in result.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
