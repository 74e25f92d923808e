"""Render a child's notebook (schriftje) for a chosen period as a keepsake PDF.

The caller loads the entries, decides which photos consent allows, and passes plain
dataclasses in. This module only lays them out with reportlab's platypus and returns the
PDF bytes, so it does no I/O besides reading the font files.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

__all__ = [
    "CATALOGUE",
    "ITEM_KEYS",
    "KeepsakeEntry",
    "KeepsakeRequest",
    "format_period",
    "render_keepsake",
]

logger = logging.getLogger(__name__)

Language = Literal["nl", "en"]

LOCAL_TIMEZONE = ZoneInfo("Europe/Amsterdam")

# Keys of KeepsakeEntry.items, in the order the items table shows them.
ITEM_KEYS = ("eating", "drinking", "sleeping", "changing", "activities", "mood")

# Every text a reader sees in the PDF. Weekdays start on Monday to match date.weekday().
CATALOGUE: dict[str, dict] = {
    "nl": {
        "months": (
            "januari", "februari", "maart", "april", "mei", "juni",
            "juli", "augustus", "september", "oktober", "november", "december",
        ),
        "weekdays": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
        "items": {
            "eating": "Eten",
            "drinking": "Drinken",
            "sleeping": "Slapen",
            "changing": "Verschonen",
            "activities": "Activiteiten",
            "mood": "Stemming",
        },
        "title": "Schriftje van {child}",
        "born_on": "Geboren op {date}",
        "created_on": "Gemaakt op {date}",
        "written_by": "Geschreven door {author} om {time}",
        "reactions": "Reacties",
        "no_entries": "Geen notities in deze periode.",
        "photo_unreadable": "Deze foto kon niet worden weergegeven.",
        "page_of": "Pagina {page} van {total}",
    },
    "en": {
        "months": (
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ),
        "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "items": {
            "eating": "Eating",
            "drinking": "Drinking",
            "sleeping": "Sleeping",
            "changing": "Changing",
            "activities": "Activities",
            "mood": "Mood",
        },
        "title": "Notebook of {child}",
        "born_on": "Born on {date}",
        "created_on": "Created on {date}",
        "written_by": "Written by {author} at {time}",
        "reactions": "Reactions",
        "no_entries": "No entries in this period.",
        "photo_unreadable": "This photo could not be shown.",
        "page_of": "Page {page} of {total}",
    },
}


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


@dataclass(frozen=True)
class KeepsakeEntry:
    """One notebook entry as it appears in the keepsake.

    `items` maps keys from ITEM_KEYS to free text. `photos` contains JPEG bytes that are already
    stripped of metadata and allowed by consent, because this module shows every photo it gets.
    """

    written_at: datetime
    author_name: str
    text: str
    items: dict[str, str] = field(default_factory=dict)
    photos: list[bytes] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require_aware("KeepsakeEntry.written_at", self.written_at)

        unknown = sorted(set(self.items) - set(ITEM_KEYS))
        if unknown:
            raise ValueError(
                f"KeepsakeEntry.items has unknown keys {unknown}. Allowed keys: {list(ITEM_KEYS)}"
            )


@dataclass(frozen=True)
class KeepsakeRequest:
    """A child's notebook for one period, in one language, ready to render.

    Entries whose Europe/Amsterdam date lies outside period_start..period_end (inclusive) are
    left out of the document.
    """

    child_name: str
    child_birth_date: date
    period_start: date
    period_end: date
    language: Language
    entries: list[KeepsakeEntry]
    organisation_name: str
    generated_at: datetime

    def __post_init__(self) -> None:
        if self.language not in CATALOGUE:
            raise ValueError(
                f"KeepsakeRequest.language {self.language!r} is not supported. Use one of {sorted(CATALOGUE)}"
            )

        if self.period_start > self.period_end:
            raise ValueError(
                f"KeepsakeRequest period_start {self.period_start.isoformat()} is after "
                f"period_end {self.period_end.isoformat()}"
            )

        _require_aware("KeepsakeRequest.generated_at", self.generated_at)


# --- Fonts -------------------------------------------------------------------------------

# DejaVu Sans covers Latin Extended, Greek and Cyrillic, so names such as "Łucja" or "Şükrü"
# render as well as Dutch "Zoë". Bitstream Vera ships inside reportlab and covers Latin-1
# only, which includes every Dutch accent. Vera is the fallback when DejaVu is not installed.
_DEJAVU_DIRECTORIES = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")
_REGULAR_FONT = "SamenKeepsake"
_BOLD_FONT = "SamenKeepsake-Bold"


@functools.cache
def _configure_reportlab() -> None:
    # ASCII85 makes every stream a quarter larger, and without the optional rl_accel package
    # reportlab encodes it in pure Python (measured here: about 1 s for a 1.8 MB JPEG). Binary
    # streams are valid PDF. The setting is process-wide, so it applies to all reportlab output.
    rl_config.useA85 = 0

    for directory in _DEJAVU_DIRECTORIES:
        regular = os.path.join(directory, "DejaVuSans.ttf")
        bold = os.path.join(directory, "DejaVuSans-Bold.ttf")
        if os.path.isfile(regular) and os.path.isfile(bold):
            break
    else:
        regular, bold = "Vera.ttf", "VeraBd.ttf"
        logger.info("keepsake: DejaVu Sans not found, using Vera (Latin-1 only)")

    # Embedded TrueType subsets carry a ToUnicode map, so the PDF text stays extractable.
    pdfmetrics.registerFont(TTFont(_REGULAR_FONT, regular))
    pdfmetrics.registerFont(TTFont(_BOLD_FONT, bold))
    pdfmetrics.registerFontFamily(
        _REGULAR_FONT, normal=_REGULAR_FONT, bold=_BOLD_FONT, italic=_REGULAR_FONT, boldItalic=_BOLD_FONT
    )


# --- Text helpers --------------------------------------------------------------------------

# C0 control characters other than tab, newline and carriage return, and DEL. None of them has
# a visible form, so they are dropped before layout.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n")


def _markup(text: str) -> str:
    """Escape user text for Paragraph markup and keep its line breaks."""
    cleaned = _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return escape(cleaned.strip()).replace("\n", "<br/>")


def _text_paragraphs(text: str, style: ParagraphStyle) -> list[Paragraph]:
    """Split text on blank lines into paragraphs, so a long entry can break between them."""
    blocks = _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    return [Paragraph(_markup(block), style) for block in blocks if block.strip()]


def _format_date(value: date, labels: dict) -> str:
    return f"{value.day} {labels['months'][value.month - 1]} {value.year}"


def _format_day_heading(value: date, labels: dict) -> str:
    weekday = labels["weekdays"][value.weekday()]
    return f"{weekday[0].upper()}{weekday[1:]} {_format_date(value, labels)}"


def format_period(start: date, end: date, language: Language) -> str:
    """Format a period in words, e.g. "1 september 2026 – 30 november 2026" in Dutch."""
    labels = CATALOGUE[language]
    if start == end:
        return _format_date(start, labels)

    return f"{_format_date(start, labels)} – {_format_date(end, labels)}"


# --- Styles and layout ---------------------------------------------------------------------

_PAGE_MARGIN = 20 * mm
_FOOTER_BASELINE = 10 * mm
# SimpleDocTemplate's frame keeps 6 pt of padding on each side.
_FRAME_PADDING = 6
# A photo takes at most this share of the frame height, so a portrait photo leaves room for
# its neighbours instead of filling a page alone.
_PHOTO_MAX_HEIGHT_SHARE = 0.7
# Photos are embedded with at most this many pixels on their long side. At the 170 mm frame
# width that is about 300 dpi, enough for print, and it bounds the PDF size and render time.
_PHOTO_MAX_PIXELS = 2000
_PHOTO_JPEG_QUALITY = 85
_LABEL_COLUMN_WIDTH = 32 * mm
_MUTED = colors.HexColor("#5f6368")
_RULE = colors.HexColor("#d0d4d9")


@dataclass(frozen=True)
class _Styles:
    cover_title: ParagraphStyle
    cover_line: ParagraphStyle
    day_heading: ParagraphStyle
    byline: ParagraphStyle
    body: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    section: ParagraphStyle
    reaction: ParagraphStyle
    notice: ParagraphStyle


def _build_styles() -> _Styles:
    body = ParagraphStyle("body", fontName=_REGULAR_FONT, fontSize=10.5, leading=14, spaceAfter=4)
    return _Styles(
        cover_title=ParagraphStyle(
            "cover_title", parent=body, fontName=_BOLD_FONT, fontSize=28, leading=34, spaceAfter=18
        ),
        cover_line=ParagraphStyle("cover_line", parent=body, fontSize=14, leading=20, spaceAfter=6),
        day_heading=ParagraphStyle(
            "day_heading",
            parent=body,
            fontName=_BOLD_FONT,
            fontSize=14,
            leading=18,
            spaceBefore=14,
            spaceAfter=6,
            keepWithNext=1,
        ),
        byline=ParagraphStyle(
            "byline", parent=body, fontSize=9, leading=12, textColor=_MUTED, spaceBefore=6, keepWithNext=1
        ),
        body=body,
        label=ParagraphStyle("label", parent=body, fontName=_BOLD_FONT, fontSize=9.5, leading=12, spaceAfter=0),
        value=ParagraphStyle("value", parent=body, fontSize=9.5, leading=12, spaceAfter=0),
        section=ParagraphStyle(
            "section", parent=body, fontName=_BOLD_FONT, fontSize=9.5, leading=12, spaceBefore=4, keepWithNext=1
        ),
        reaction=ParagraphStyle(
            "reaction",
            parent=body,
            fontSize=9.5,
            leading=12,
            leftIndent=10,
            bulletIndent=0,
            bulletFontName=_REGULAR_FONT,
            spaceAfter=2,
        ),
        notice=ParagraphStyle("notice", parent=body, textColor=_MUTED),
    )


def _items_table(items: dict[str, str], labels: dict, styles: _Styles, width: float) -> Table | None:
    rows = [
        [Paragraph(escape(labels["items"][key]), styles.label), Paragraph(_markup(items[key]), styles.value)]
        for key in ITEM_KEYS
        if items.get(key, "").strip()
    ]
    if not rows:
        return None

    # splitInRow lets one very long value continue on the next page instead of failing layout.
    table = Table(
        rows,
        colWidths=[_LABEL_COLUMN_WIDTH, width - _LABEL_COLUMN_WIDTH],
        hAlign="LEFT",
        splitInRow=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.5, _RULE),
                ("BOX", (0, 0), (-1, -1), 0.5, _RULE),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f4f6")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


class _JpegReader(ImageReader):
    """ImageReader for JPEG bytes, which reportlab embeds as they are (DCTDecode).

    NOTE: Canvas.drawImage in reportlab 5.1 hashes getRGBData() to find an image it has
    already embedded, which decodes the whole photo on every draw. The compressed bytes
    identify a JPEG as well, and drawImage reads a JPEG through jpeg_fh(), not getRGBData().
    """

    def __init__(self, jpeg: bytes) -> None:
        super().__init__(io.BytesIO(jpeg))
        self._jpeg = jpeg

    def getRGBData(self) -> bytes:
        self._dataA = None
        return self._jpeg


class _Photo(Flowable):
    def __init__(self, jpeg: bytes, width: float, height: float) -> None:
        super().__init__()
        self._reader = _JpegReader(jpeg)
        self.width = width
        self.height = height
        self.hAlign = "CENTER"

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self._reader, 0, 0, self.width, self.height)


def _prepare_photo(data: bytes) -> tuple[bytes, int, int] | None:
    """Return the photo as RGB or greyscale JPEG bytes with its pixel size, or None if unreadable.

    Photos with a long side above _PHOTO_MAX_PIXELS, and photos in other formats or colour
    modes, are re-encoded. Smaller RGB and greyscale JPEGs are kept byte for byte.
    """
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            embeddable = picture.format == "JPEG" and picture.mode in ("RGB", "L")
            if embeddable and max(width, height) <= _PHOTO_MAX_PIXELS:
                return data, width, height

            # draft() lets the JPEG decoder scale down by a power of two while decoding, as far
            # as the result stays at least the target size. Other formats ignore it.
            factor = min(1.0, _PHOTO_MAX_PIXELS / max(width, height))
            picture.draft("RGB", (math.ceil(width * factor), math.ceil(height * factor)))
            flattened = _flatten_to_rgb(picture)
            flattened.thumbnail((_PHOTO_MAX_PIXELS, _PHOTO_MAX_PIXELS))

            encoded = io.BytesIO()
            flattened.save(encoded, "JPEG", quality=_PHOTO_JPEG_QUALITY)
            return encoded.getvalue(), flattened.width, flattened.height
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None


def _flatten_to_rgb(picture: PILImage.Image) -> PILImage.Image:
    """Convert to RGB, putting transparent areas on white instead of black."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        with_alpha = picture.convert("RGBA")
        background = PILImage.new("RGB", with_alpha.size, "white")
        background.paste(with_alpha, mask=with_alpha.getchannel("A"))
        return background

    return picture.convert("RGB")


def _photo(data: bytes, max_width: float, max_height: float) -> _Photo | None:
    """Scale a photo to the frame width, keeping its aspect ratio and a maximum height."""
    prepared = _prepare_photo(data)
    if prepared is None:
        return None

    jpeg, pixel_width, pixel_height = prepared
    if pixel_width <= 0 or pixel_height <= 0:
        return None

    scale = min(max_width / pixel_width, max_height / pixel_height)
    return _Photo(jpeg, pixel_width * scale, pixel_height * scale)


def _entry_flowables(
    position: int, entry: KeepsakeEntry, labels: dict, styles: _Styles, frame_width: float, frame_height: float
) -> list[Flowable]:
    local_time = entry.written_at.astimezone(LOCAL_TIMEZONE)
    byline = labels["written_by"].format(author=entry.author_name.strip(), time=local_time.strftime("%H:%M"))
    flowables: list[Flowable] = [Paragraph(_markup(byline), styles.byline)]

    flowables.extend(_text_paragraphs(entry.text, styles.body))

    table = _items_table(entry.items, labels, styles, frame_width)
    if table is not None:
        flowables.extend([Spacer(1, 2), table, Spacer(1, 6)])

    for photo_index, data in enumerate(entry.photos):
        image = _photo(data, frame_width, frame_height * _PHOTO_MAX_HEIGHT_SHARE)
        if image is None:
            logger.warning(
                "keepsake: photo %d of entry %d (written_at=%s) is not a readable image, showing a notice",
                photo_index,
                position,
                entry.written_at.isoformat(),
            )
            flowables.append(Paragraph(escape(labels["photo_unreadable"]), styles.notice))
            continue

        flowables.extend([image, Spacer(1, 6)])

    reactions = [reaction for reaction in entry.reactions if reaction.strip()]
    if reactions:
        flowables.append(Paragraph(escape(labels["reactions"]), styles.section))
        flowables.extend(Paragraph(_markup(reaction), styles.reaction, bulletText="•") for reaction in reactions)

    return flowables


def _cover_flowables(request: KeepsakeRequest, labels: dict, styles: _Styles) -> list[Flowable]:
    period = format_period(request.period_start, request.period_end, request.language)
    created_on = request.generated_at.astimezone(LOCAL_TIMEZONE).date()
    born_on = labels["born_on"].format(date=_format_date(request.child_birth_date, labels))
    return [
        Spacer(1, 60 * mm),
        Paragraph(_markup(labels["title"].format(child=request.child_name.strip())), styles.cover_title),
        Paragraph(escape(born_on), styles.cover_line),
        Paragraph(escape(period), styles.cover_line),
        Spacer(1, 12 * mm),
        Paragraph(_markup(request.organisation_name), styles.cover_line),
        Paragraph(escape(labels["created_on"].format(date=_format_date(created_on, labels))), styles.notice),
        PageBreak(),
    ]


def _entries_in_period(request: KeepsakeRequest) -> list[KeepsakeEntry]:
    """Sort entries by time and drop those whose local date lies outside the period."""
    in_period = [
        entry
        for entry in request.entries
        if request.period_start <= entry.written_at.astimezone(LOCAL_TIMEZONE).date() <= request.period_end
    ]
    skipped = len(request.entries) - len(in_period)
    if skipped:
        logger.info(
            "keepsake: left out %d entries dated outside %s..%s", skipped, request.period_start, request.period_end
        )

    # sorted() is stable, so entries with the same timestamp keep the caller's order.
    return sorted(in_period, key=lambda entry: entry.written_at)


# --- Page numbers --------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """Canvas that defers emitting pages until save(), when the page count is known.

    Each page's drawing state is kept as a copy of the canvas attributes. save() restores them
    one by one, draws the "Page N of M" footer and only then emits the page.
    """

    def __init__(self, *args, page_label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._page_label = page_label
        self._held_pages: list[dict] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for page_state in self._held_pages:
            self.__dict__.update(page_state)
            self._draw_footer(total)
            super().showPage()

        super().save()

    def _draw_footer(self, total: int) -> None:
        self.saveState()
        self.setFont(_REGULAR_FONT, 8.5)
        self.setFillColor(_MUTED)
        text = self._page_label.format(page=self.getPageNumber(), total=total)
        self.drawCentredString(self._pagesize[0] / 2, _FOOTER_BASELINE, text)
        self.restoreState()


# --- Entry point ---------------------------------------------------------------------------


def render_keepsake(request: KeepsakeRequest) -> bytes:
    """Render the notebook of one child for one period as PDF bytes.

    The document has a cover page, then a heading per Europe/Amsterdam day with that day's
    entries in chronological order, and "Page N of M" in every footer.

    NOTE: rendering is CPU-bound, about 75 ms per 12-megapixel photo on the development
    machine. Under nameko's eventlet hub it blocks the other workers of the process meanwhile,
    so a caller with many photos should run it through eventlet.tpool or a separate worker.
    """
    _configure_reportlab()
    labels = CATALOGUE[request.language]
    styles = _build_styles()
    title = labels["title"].format(child=request.child_name.strip())
    period = format_period(request.period_start, request.period_end, request.language)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_PAGE_MARGIN,
        rightMargin=_PAGE_MARGIN,
        topMargin=_PAGE_MARGIN,
        bottomMargin=_PAGE_MARGIN,
        title=f"{title}, {period}",
        author=request.organisation_name,
        subject=period,
        creator="Samen",
        lang=request.language,
    )
    frame_width = document.width - 2 * _FRAME_PADDING
    frame_height = document.height - 2 * _FRAME_PADDING

    story = _cover_flowables(request, labels, styles)

    entries = _entries_in_period(request)
    if not entries:
        story.append(Paragraph(escape(labels["no_entries"]), styles.notice))

    by_day = itertools.groupby(
        enumerate(entries), key=lambda numbered: numbered[1].written_at.astimezone(LOCAL_TIMEZONE).date()
    )
    for day, numbered_entries in by_day:
        story.append(Paragraph(escape(_format_day_heading(day, labels)), styles.day_heading))
        for position, entry in numbered_entries:
            story.extend(_entry_flowables(position, entry, labels, styles, frame_width, frame_height))

    document.build(story, canvasmaker=functools.partial(_NumberedCanvas, page_label=labels["page_of"]))

    logger.info(
        "keepsake: rendered %d entries for %s..%s in %s, %d bytes",
        len(entries),
        request.period_start,
        request.period_end,
        request.language,
        buffer.tell(),
    )
    return buffer.getvalue()
