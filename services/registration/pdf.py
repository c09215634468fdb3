"""What every PDF registration prints has in common: A4, the DejaVu fonts, QR codes.

The documents (badges, certificates, letters) are drawn with fpdf2, which is pure Python
and embeds the subset of a TrueType font that a document uses. DejaVu Sans (shipped in
`fonts/` with its licence) covers the Latin, Baltic, Nordic and Cyrillic names of every
CBSS country's people. QR codes are drawn by segno and placed as PNG images, which any
reader (and the tests' decoder) can take out of the file again.

Reading a whole DejaVu font costs most of a document's time. `*-Europe.ttf` are DejaVu cut
down with fontTools to Latin (with Extended A and B and Additional), Greek, Cyrillic,
punctuation and currency signs: a document whose text they cover (`covering`) reads those
instead, eight times faster; any other text gets the whole fonts.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import segno
from fontTools.ttLib import TTFont
from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"


@cache
def _european() -> frozenset[int]:
    """The characters both cut-down fonts have."""
    covered = [
        set(TTFont(FONTS / name, lazy=True).getBestCmap())
        for name in ("DejaVuSans-Europe.ttf", "DejaVuSans-Bold-Europe.ttf")
    ]
    return frozenset(covered[0] & covered[1])


def document(title: str, covering: str = "") -> FPDF:
    """An empty A4 portrait document in millimetres, DejaVu Sans as its font, no page yet.

    `covering`: all the text the document will print, when known; if the cut-down fonts
    have every character of it they are used."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("Capitals")
    cut = covering and all(ord(ch) in _european() for ch in covering if not ch.isspace())
    suffix = "-Europe" if cut else ""
    pdf.add_font(FAMILY, "", FONTS / f"DejaVuSans{suffix}.ttf")
    pdf.add_font(FAMILY, "B", FONTS / f"DejaVuSans-Bold{suffix}.ttf")
    pdf.set_font(FAMILY, size=11)
    pdf.set_auto_page_break(auto=False)
    return pdf


def qr_png(text: str, scale: int = 8, mask: int | None = None) -> io.BytesIO:
    """`text` as a QR code image (medium error correction, a quiet zone around it), each
    module `scale` pixels wide. A fixed `mask` skips segno's search for the best one (most
    of its time), for sheets of many codes; any mask reads."""
    image = io.BytesIO()
    segno.make_qr(text, error="m", mask=mask).save(image, kind="png", scale=scale, border=4)
    image.seek(0)
    return image


def as_bytes(pdf: FPDF) -> bytes:
    return bytes(pdf.output())
