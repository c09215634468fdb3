"""The badge sheet of a training: A4 pages of eight badges with cut marks, each with the
participant's name, organisation, country, the training, and a QR code of the
registration's check-in code (never its manage token) for the door."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

from services.registration import pdf
from shared.countries import country, is_country

COLUMNS, ROWS = 2, 4
BADGE_W, BADGE_H = 90.0, 62.0
LEFT = (210.0 - COLUMNS * BADGE_W) / 2
TOP = (297.0 - ROWS * BADGE_H) / 2
PAD = 5.0
QR = 26.0
MARK, GAP = 6.0, 2.0  # cut marks: this long, this far from the badges' edges
GREY = (90, 90, 90)


@dataclass(frozen=True)
class Badge:
    name: str
    organisation: str
    country: str  # ISO code; printed as the country's name
    check_in_code: str


def spaced(code: str) -> str:
    """The code as printed for typing: two groups of five."""
    return f"{code[:5]} {code[5:]}"


def badge_sheet(training_title: str, badges: Sequence[Badge]) -> bytes:
    document = pdf.document(f"Badges · {training_title}")
    per_page = COLUMNS * ROWS
    for start in range(0, max(len(badges), 1), per_page):
        document.add_page()
        _cut_marks(document)
        for place, badge in enumerate(badges[start : start + per_page]):
            x = LEFT + (place % COLUMNS) * BADGE_W
            y = TOP + (place // COLUMNS) * BADGE_H
            _badge(document, x, y, training_title, badge)
    return pdf.as_bytes(document)


def _cut_marks(document: FPDF) -> None:
    """Short lines in the margins where each row and column of badges is to be cut."""
    document.set_draw_color(0, 0, 0)
    document.set_line_width(0.2)
    right, bottom = LEFT + COLUMNS * BADGE_W, TOP + ROWS * BADGE_H
    for column in range(COLUMNS + 1):
        x = LEFT + column * BADGE_W
        document.line(x, TOP - GAP - MARK, x, TOP - GAP)
        document.line(x, bottom + GAP, x, bottom + GAP + MARK)
    for row in range(ROWS + 1):
        y = TOP + row * BADGE_H
        document.line(LEFT - GAP - MARK, y, LEFT - GAP, y)
        document.line(right + GAP, y, right + GAP + MARK, y)


# The width of each character in the fonts used, per point of size: measuring strings
# through fpdf2 costs more than the rest of a badge, and widths are additive without shaping.
_WIDTHS: dict[tuple[str, str], float] = {}


def _width(document: FPDF, text: str) -> float:
    """The width of `text` in the current font and size, in millimetres."""
    style, size = document.font_style, document.font_size_pt
    total = 0.0
    for char in text:
        per_point = _WIDTHS.get((style, char))
        if per_point is None:
            per_point = _WIDTHS[(style, char)] = document.get_string_width(char) / size
        total += per_point
    return total * size


def _lines(document: FPDF, text: str, width: float, most: int) -> list[str]:
    """`text` broken at spaces into at most `most` lines of `width` in the current font;
    the last one cut short with an ellipsis when the text does not fit."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and _width(document, candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    lines = [_cut(document, each, width) for each in lines]
    if len(lines) > most:
        lines = [*lines[: most - 1], _cut(document, lines[most - 1] + "…", width, force=True)]
    return lines


def _cut(document: FPDF, line: str, width: float, force: bool = False) -> str:
    """The line, shortened with an ellipsis until it fits."""
    if not force and _width(document, line) <= width:
        return line
    line = line.rstrip("…")
    while line and _width(document, line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


def _badge(document: FPDF, x: float, y: float, title: str, badge: Badge) -> None:
    inner = BADGE_W - 2 * PAD
    # The training, small, at the top.
    document.set_text_color(*GREY)
    document.set_font(pdf.FAMILY, "", 7.5)
    for number, line in enumerate(_lines(document, title, inner, 2)):
        document.text(x + PAD, y + PAD + 3 + number * 3.4, line)
    # The name, as large as fits on one line (down to a size still read at arm's length).
    document.set_text_color(0, 0, 0)
    document.set_font(pdf.FAMILY, "B", 18)
    size = max(10.0, min(18.0, int(18 * inner / max(_width(document, badge.name), 1) * 2) / 2))
    document.set_font(pdf.FAMILY, "B", size)
    name_lines = _lines(document, badge.name, inner, 2)
    for number, line in enumerate(name_lines):
        document.text(x + PAD, y + PAD + 17 + number * size * 0.42, line)
    # Organisation and country beside the QR code.
    beside = inner - QR - 3
    top = y + PAD + 22 + (len(name_lines) - 1) * size * 0.42
    document.set_font(pdf.FAMILY, "", 9)
    for number, line in enumerate(_lines(document, badge.organisation, beside, 3)):
        document.text(x + PAD, top + number * 4, line)
    document.set_font(pdf.FAMILY, "B", 10)
    represented = country(badge.country).name if is_country(badge.country) else badge.country
    document.text(x + PAD, y + BADGE_H - PAD - 1, _lines(document, represented, beside, 1)[0])
    # The check-in code, scanned or typed at the door.
    qr_x, qr_y = x + BADGE_W - PAD - QR, y + BADGE_H - PAD - QR - 3
    document.image(pdf.qr_png(badge.check_in_code, scale=4, mask=0), qr_x, qr_y, QR, QR)
    document.set_font(pdf.FAMILY, "", 7.5)
    code = spaced(badge.check_in_code)
    document.text(qr_x + (QR - _width(document, code)) / 2, qr_y + QR + 2.5, code)
