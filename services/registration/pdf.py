"""What every PDF registration prints has in common: A4, the DejaVu fonts, QR codes.

The documents (badges, certificates, letters) are drawn with fpdf2, which is pure Python
and embeds the subset of a TrueType font that a document uses. DejaVu Sans (shipped in
`fonts/` with its licence) covers the Latin, Baltic, Nordic and Cyrillic names of every
CBSS country's people. QR codes are drawn by segno and placed as PNG images, which any
reader (and the tests' decoder) can take out of the file again.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"


def document(title: str) -> FPDF:
    """An empty A4 portrait document in millimetres, DejaVu Sans as its font, no page yet."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_creator("Capitals")
    pdf.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
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
