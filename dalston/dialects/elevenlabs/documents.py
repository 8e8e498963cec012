"""The binary export formats: Word (python-docx) and PDF (fpdf2).

PDF text needs a Unicode TrueType font; the first of ``PDF_FONTS`` that exists is
embedded (DejaVu Sans covers Latin, Greek and Cyrillic). Without one, the built-in
Helvetica is used and characters outside Latin-1 are replaced by ``?``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# fpdf2 subsets embedded fonts through fontTools, which logs every step at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PDF_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
)


@dataclass(frozen=True)
class Line:
    prefix: str  # timestamps / speaker (bold in Word); may be empty
    text: str


def docx(lines: Sequence[Line]) -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Transcript", level=1)
    for line in lines:
        paragraph = document.add_paragraph()
        if line.prefix:
            paragraph.add_run(line.prefix + " ").bold = True
        paragraph.add_run(line.text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@cache
def _font() -> Path | None:
    return next((p for p in PDF_FONTS if p.is_file()), None)


def pdf(lines: Sequence[Line]) -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.set_auto_page_break(auto=True, margin=15)
    document.add_page()
    font = _font()
    if font is not None:
        document.add_font("body", "", str(font))
        family = "body"

        def fit(text: str) -> str:
            return text

    else:
        family = "helvetica"

        def fit(text: str) -> str:
            return text.encode("latin-1", errors="replace").decode("latin-1")

    document.set_font(family, size=16)
    document.cell(text="Transcript", new_x="LMARGIN", new_y="NEXT")
    document.ln(4)
    document.set_font(family, size=11)
    for line in lines:
        text = f"{line.prefix} {line.text}" if line.prefix else line.text
        document.multi_cell(0, 6, fit(text), new_x="LMARGIN", new_y="NEXT")
        document.ln(2)
    return bytes(document.output())
