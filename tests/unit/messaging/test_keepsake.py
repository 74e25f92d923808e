import io
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from samen_messaging.keepsake import (
    CATALOGUE,
    ITEM_KEYS,
    KeepsakeEntry,
    KeepsakeRequest,
    format_period,
    render_keepsake,
)

GENERATED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ALL_ITEMS = {
    "eating": "Brood met kaas",
    "drinking": "Water",
    "sleeping": "13:00 tot 14:30",
    "changing": "Twee keer",
    "activities": "Buiten gespeeld",
    "mood": "Vrolijk",
}


def make_jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (180, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def make_entry(written_at: datetime, text: str, **fields) -> KeepsakeEntry:
    return KeepsakeEntry(
        written_at=written_at,
        author_name=fields.pop("author_name", "Anna"),
        text=text,
        **fields,
    )


def make_request(entries: list[KeepsakeEntry], language: str = "nl", **fields) -> KeepsakeRequest:
    values = {
        "child_name": "Noor de Vries",
        "child_birth_date": date(2024, 3, 3),
        "period_start": date(2026, 9, 1),
        "period_end": date(2026, 11, 30),
        "language": language,
        "entries": entries,
        "organisation_name": "Kinderopvang De Zonnebloem",
        "generated_at": GENERATED_AT,
    }
    values.update(fields)
    return KeepsakeRequest(**values)


def page_texts(pdf: bytes) -> list[str]:
    """Extract each page's text with runs of whitespace collapsed to one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


def full_text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


def image_xobjects(pdf: bytes) -> list:
    reader = PdfReader(io.BytesIO(pdf))
    images = []
    for page in reader.pages:
        xobjects = page["/Resources"].get_object().get("/XObject", {})
        for reference in xobjects.values():
            xobject = reference.get_object()
            if xobject["/Subtype"] == "/Image":
                images.append(xobject)
    return images


def image_count(pdf: bytes) -> int:
    return len(image_xobjects(pdf))


def assert_in_order(text: str, fragments: list[str]) -> None:
    positions = [text.find(fragment) for fragment in fragments]
    for fragment, position in zip(fragments, positions):
        assert position >= 0, f"{fragment!r} missing from the PDF text"
    assert positions == sorted(positions), f"fragments out of order: {list(zip(fragments, positions))}"


def test_entries_render_in_chronological_order():
    amsterdam_summer = timezone(timedelta(hours=2))
    entries = [
        make_entry(datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc), "Derde notitie over de herfst"),
        make_entry(datetime(2026, 9, 1, 15, 0, tzinfo=amsterdam_summer), "Tweede notitie in de middag"),
        make_entry(datetime(2026, 9, 1, 8, 30, tzinfo=amsterdam_summer), "Eerste notitie in de ochtend"),
    ]

    text = full_text(render_keepsake(make_request(entries)))

    assert_in_order(
        text,
        [
            "Schriftje van Noor de Vries",
            "1 september 2026 – 30 november 2026",
            "Kinderopvang De Zonnebloem",
            "Dinsdag 1 september 2026",
            "om 08:30",
            "Eerste notitie in de ochtend",
            "om 15:00",
            "Tweede notitie in de middag",
            "Maandag 5 oktober 2026",
            "om 11:00",
            "Derde notitie over de herfst",
        ],
    )
    assert text.count("Dinsdag 1 september 2026") == 1


def test_day_heading_uses_amsterdam_date():
    # 23:30 UTC on 1 September is 01:30 on 2 September in Amsterdam (CEST, UTC+2).
    entries = [make_entry(datetime(2026, 9, 1, 23, 30, tzinfo=timezone.utc), "Laat op de avond")]

    text = full_text(render_keepsake(make_request(entries)))

    assert "Woensdag 2 september 2026" in text
    assert "om 01:30" in text
    assert "Dinsdag 1 september 2026" not in text


def test_entries_outside_period_left_out():
    entries = [
        make_entry(datetime(2026, 8, 31, 12, 0, tzinfo=timezone.utc), "Nog in augustus"),
        make_entry(datetime(2026, 9, 2, 12, 0, tzinfo=timezone.utc), "Wel in september"),
        make_entry(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), "Al in december"),
    ]

    text = full_text(render_keepsake(make_request(entries)))

    assert "Wel in september" in text
    assert "Nog in augustus" not in text
    assert "Al in december" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            [
                "Schriftje van Noor de Vries",
                "Geboren op 3 maart 2024",
                "Gemaakt op 1 december 2026",
                "Donderdag 15 oktober 2026",
                "Geschreven door Anna om 10:15",
                "Eten", "Drinken", "Slapen", "Verschonen", "Activiteiten", "Stemming",
                "Reacties",
                "Pagina 2 van 2",
            ],
        ),
        (
            "en",
            [
                "Notebook of Noor de Vries",
                "Born on 3 March 2024",
                "Created on 1 December 2026",
                "Thursday 15 October 2026",
                "Written by Anna at 10:15",
                "Eating", "Drinking", "Sleeping", "Changing", "Activities", "Mood",
                "Reactions",
                "Page 2 of 2",
            ],
        ),
    ],
)
def test_labels_follow_language(language, expected):
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Vandaag",
        items=ALL_ITEMS,
        reactions=["Dank je wel!"],
    )

    text = full_text(render_keepsake(make_request([entry], language=language)))

    for label in expected:
        assert label in text
    assert_in_order(text, ["Eten" if language == "nl" else "Eating", "Brood met kaas", "Dank je wel!"])


def test_items_table_skips_empty_values():
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Vandaag",
        items={"mood": "Rustig", "eating": "  "},
    )

    text = full_text(render_keepsake(make_request([entry], language="en")))

    assert "Mood Rustig" in text
    assert "Eating" not in text


def test_period_in_words():
    assert format_period(date(2026, 9, 1), date(2026, 11, 30), "nl") == "1 september 2026 – 30 november 2026"
    assert format_period(date(2026, 9, 1), date(2026, 11, 30), "en") == "1 September 2026 – 30 November 2026"
    assert format_period(date(2026, 3, 7), date(2026, 3, 7), "en") == "7 March 2026"


def test_catalogues_have_same_keys():
    assert CATALOGUE["nl"].keys() == CATALOGUE["en"].keys()
    assert tuple(CATALOGUE["nl"]["items"]) == ITEM_KEYS
    assert tuple(CATALOGUE["en"]["items"]) == ITEM_KEYS


def test_photos_embedded_and_scaled():
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Met foto's",
        photos=[make_jpeg(1600, 1200), make_jpeg(600, 3000)],
    )

    pdf = render_keepsake(make_request([entry]))

    assert image_count(pdf) == 2
    reader = PdfReader(io.BytesIO(pdf))
    page_width = float(reader.pages[1].mediabox.width)
    # The landscape photo fills the frame width: A4 (595 pt) minus 2 x 20 mm margins and padding.
    drawn_widths = [
        float(operands[0])
        for page in reader.pages
        for operands, operator in page.get_contents().operations
        if operator == b"cm" and float(operands[0]) > 50
    ]
    assert max(drawn_widths) == pytest.approx(page_width - 2 * 20 * 72 / 25.4 - 12, abs=0.5)


def test_small_jpeg_embedded_unchanged():
    photo = make_jpeg(640, 480)
    entry = make_entry(datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc), "Klein", photos=[photo])

    [image] = image_xobjects(render_keepsake(make_request([entry])))

    assert list(image["/Filter"]) == ["/DCTDecode"]
    assert image.get_data() == photo


def test_large_or_transparent_photo_reencoded():
    transparent = io.BytesIO()
    PILImage.new("RGBA", (300, 200), (0, 0, 0, 0)).save(transparent, "PNG")
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Groot en doorzichtig",
        photos=[make_jpeg(4000, 3000), transparent.getvalue()],
    )

    images = image_xobjects(render_keepsake(make_request([entry])))

    sizes = sorted((image["/Width"], image["/Height"]) for image in images)
    assert sizes == [(300, 200), (2000, 1500)]
    for image in images:
        assert list(image["/Filter"]) == ["/DCTDecode"]
        assert image["/ColorSpace"] == "/DeviceRGB"
    [png] = [image for image in images if image["/Width"] == 300]
    corner = PILImage.open(io.BytesIO(png.get_data())).getpixel((0, 0))
    assert min(corner) > 240, f"transparent area should be white, got {corner}"


def test_unreadable_photo_shows_notice(caplog):
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Kapotte foto",
        photos=[b"not a jpeg", make_jpeg(400, 300)],
    )

    pdf = render_keepsake(make_request([entry], language="en"))

    assert image_count(pdf) == 1
    assert "This photo could not be shown." in full_text(pdf)
    assert "photo 0 of entry 0" in caplog.text


def test_markup_in_user_text_shown_literally():
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        'Zij zei <b>nee</b> & <font size="40">ja</font>',
        author_name="Anna & <i>Bram</i>",
        items={"eating": "Appel & <peer>"},
        reactions=["Top <br/> & dank"],
    )

    text = full_text(render_keepsake(make_request([entry])))

    assert 'Zij zei <b>nee</b> & <font size="40">ja</font>' in text
    assert "Anna & <i>Bram</i>" in text
    assert "Appel & <peer>" in text
    assert "Top <br/> & dank" in text


def test_accents_and_control_characters():
    entry = make_entry(
        datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc),
        "Zoë at crème brûlée with Łucja\x00\x07 and Ünal",
    )

    text = full_text(render_keepsake(make_request([entry], child_name="Zoë Çelik")))

    assert "Zoë at crème brûlée with Łucja and Ünal" in text
    assert "Schriftje van Zoë Çelik" in text


def test_line_breaks_kept():
    text = "Regel een\nRegel twee\r\n\r\nAlinea twee"
    entry = make_entry(datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc), text)

    reader = PdfReader(io.BytesIO(render_keepsake(make_request([entry]))))
    lines = reader.pages[1].extract_text().splitlines()

    assert "Regel een" in lines
    assert "Regel twee" in lines
    assert "Alinea twee" in lines


@pytest.mark.parametrize(
    ("language", "notice"),
    [("nl", "Geen notities in deze periode."), ("en", "No entries in this period.")],
)
def test_empty_period(language, notice):
    pdf = render_keepsake(make_request([], language=language))

    texts = page_texts(pdf)
    assert len(texts) == 2
    assert notice in texts[1]


def test_long_text_splits_across_pages():
    words = " ".join(f"woord{index}" for index in range(6000))
    entry = make_entry(datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc), words, items={"activities": words})

    texts = page_texts(render_keepsake(make_request([entry], language="en")))

    assert len(texts) > 6
    assert "woord0 " in texts[1]
    assert "woord5999" in " ".join(texts)
    assert " ".join(texts).count("woord5999") == 2


def test_many_entries_have_page_numbers():
    start = datetime(2026, 9, 1, 6, 0, tzinfo=timezone.utc)
    entries = [
        make_entry(
            start + timedelta(hours=7 * index),
            f"Notitie {index}. " + "Vandaag speelden we buiten in de zandbak en bouwden we een toren. " * 8,
            items=ALL_ITEMS,
            reactions=["Wat leuk!"],
        )
        for index in reversed(range(300))
    ]

    started = time.perf_counter()
    pdf = render_keepsake(make_request(entries, language="en"))
    elapsed = time.perf_counter() - started

    texts = page_texts(pdf)
    total = len(texts)
    assert total > 20
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {total}" in text
    assert_in_order(" ".join(texts), ["Notitie 0.", "Notitie 1.", "Notitie 150.", "Notitie 299."])
    # This renders in about 1 s on the development machine. The bound is far above that, so it
    # catches runaway layout such as quadratic behaviour, not small slowdowns.
    assert elapsed < 30


def test_metadata_title_and_language():
    pdf = render_keepsake(make_request([], language="en"))

    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == "Notebook of Noor de Vries, 1 September 2026 – 30 November 2026"
    assert reader.metadata.author == "Kinderopvang De Zonnebloem"
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_entry_rejects_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_entry(datetime(2026, 10, 15, 8, 15), "Zonder tijdzone")


def test_entry_rejects_unknown_item():
    with pytest.raises(ValueError, match="unknown keys \\['playing'\\]"):
        make_entry(datetime(2026, 10, 15, 8, 15, tzinfo=timezone.utc), "Tekst", items={"playing": "Lego"})


def test_request_rejects_invalid_fields():
    with pytest.raises(ValueError, match="not supported"):
        make_request([], language="de")
    with pytest.raises(ValueError, match="is after period_end"):
        make_request([], period_start=date(2026, 12, 1))
    with pytest.raises(ValueError, match="generated_at must be a timezone-aware"):
        make_request([], generated_at=datetime(2026, 12, 1, 9, 0))
