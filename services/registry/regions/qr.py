"""A village's declaration QR code (防贫申报二维码) as an A4 sheet to print: the code, the
village's name under it and the address in small type, as SVG (vector, any printer) or PNG.

segno draws the code; the sheet around it is ours. Error correction level M (15%): a printed
notice board code survives some dirt and wear, and the short URL keeps the modules large."""

import io
import os
from functools import cache
from xml.sax.saxutils import escape

import segno
from PIL import Image, ImageDraw, ImageFont

HEADING = "防贫申报 · 扫码填写"
# A4 in millimetres, and the code's square on it (a phone reads it from 2-3 m away).
PAGE_W, PAGE_H = 210, 297
CODE_MM = 150
CODE_TOP_MM = 45
# Fonts with Chinese glyphs that Debian installs (fonts-noto-cjk, fonts-wqy-*, ...).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
_SVG_FONTS = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','SimHei',sans-serif"
PNG_DPI = 150


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def svg(url: str, village_name: str) -> bytes:
    """The sheet as SVG in millimetres: segno's code nested in an A4 page."""
    buffer = io.BytesIO()
    # No size attributes: segno then writes a viewBox, which the nesting below scales.
    _code(url).save(buffer, kind="svg", xmldecl=False, svgns=True, omitsize=True, border=4)
    left = (PAGE_W - CODE_MM) / 2
    inner = (
        buffer.getvalue()
        .decode()
        .replace(
            "<svg ", f'<svg x="{left}" y="{CODE_TOP_MM}" width="{CODE_MM}" height="{CODE_MM}" ', 1
        )
    )
    below = CODE_TOP_MM + CODE_MM

    def text(y: float, size: float, content: str, weight: str = "normal") -> str:
        return (
            f'<text x="{PAGE_W / 2}" y="{y}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="middle" font-family="{_SVG_FONTS}">{escape(content)}</text>'
        )

    page = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{PAGE_H}mm" '
        f'viewBox="0 0 {PAGE_W} {PAGE_H}">'
        f'<rect width="{PAGE_W}" height="{PAGE_H}" fill="#fff"/>'
        + text(30, 12, HEADING, "bold")
        + inner
        + text(below + 20, 14, village_name, "bold")
        + text(below + 32, 4, url)
        + "</svg>"
    )
    return page.encode()


@cache
def _font_file(configured: str) -> tuple[str, int] | None:
    """A font file with Chinese glyphs and, in a collection, the Simplified Chinese face."""
    for path in (configured, *CJK_FONTS) if configured else CJK_FONTS:
        if not os.path.isfile(path):
            continue
        for index in range(10):  # a .ttc holds several faces (JP, KR, SC, TC...)
            try:
                face = ImageFont.truetype(path, 12, index=index)
            except OSError:
                break
            if "SC" in " ".join(str(part) for part in face.getname()):
                return path, index
        return path, 0
    return None


def _font(configured: str, px: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A font of ``px`` pixels, and whether it has Chinese glyphs."""
    found = _font_file(configured)
    if found is None:
        return ImageFont.load_default(px), False
    return ImageFont.truetype(found[0], px, index=found[1]), True


def png(url: str, village_name: str, village_code: str, font: str = "") -> bytes:
    """The same sheet as a 150 dpi PNG. Without a Chinese font on the server the name cannot
    be set, so the village code stands under the code instead (the SVG always has the name)."""

    def mm(value: float) -> int:
        return round(value / 25.4 * PNG_DPI)

    page = Image.new("L", (mm(PAGE_W), mm(PAGE_H)), 255)
    qr = _code(url)
    matrix = list(qr.matrix)
    modules = Image.new("L", (len(matrix[0]), len(matrix)), 255)
    modules.putdata([0 if bit else 255 for row in matrix for bit in row])
    # Whole pixels per module (a blurred edge misreads), the quiet zone left white around it.
    per_module = mm(CODE_MM) // (len(matrix) + 8)
    side = per_module * len(matrix)
    left, top = (page.width - side) // 2, mm(CODE_TOP_MM) + 4 * per_module
    page.paste(modules.resize((side, side), Image.Resampling.NEAREST), (left, top))
    draw = ImageDraw.Draw(page)
    heading_font, cjk = _font(font, mm(12))
    name_font, _ = _font(font, mm(14))
    small_font, _ = _font(font, mm(4))
    below = mm(CODE_TOP_MM + CODE_MM)
    centre = page.width // 2
    if cjk:
        draw.text((centre, mm(30)), HEADING, font=heading_font, fill=0, anchor="ms")
    draw.text(
        (centre, below + mm(20)),
        village_name if cjk else village_code,
        font=name_font,
        fill=0,
        anchor="ms",
    )
    draw.text((centre, below + mm(32)), url, font=small_font, fill=0, anchor="ms")
    out = io.BytesIO()
    page.save(out, format="PNG", optimize=True, dpi=(PNG_DPI, PNG_DPI))
    return out.getvalue()
