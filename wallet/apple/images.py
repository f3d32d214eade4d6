"""The pass images, drawn with Pillow.

Sizes are Apple's for a store card: ``icon`` 29×29 points, ``logo`` at most
160×50 points, ``strip`` 375×144 points; ``@2x``/``@3x`` are the same in
2× and 3× pixels, and every image comes at 1×, 2× and 3× (a 3× iPhone
would otherwise scale a 2× image up). Wallet shows a store card's strip
375×144 or 375×123 points high depending on the pass, filling the space and
cropping what is over: the strip is drawn 144 points high with the stamps in
the central 123 points, so they are whole either way. Results are cached per
process: a program's look changes rarely and a stamp strip depends only on
(stamps, target, colours).
"""

import functools
import io
import math

from PIL import Image, ImageDraw, ImageFont

ICON_POINTS = 29
LOGO_MAX_POINTS = (160, 50)
STRIP_POINTS = (375, 144)
STRIP_STAMP_BAND_POINTS = 123  # the central band the stamps stay in (the shorter strip Wallet may show)
ICON_SCALES = (1, 2, 3)
LOGO_SCALES = (1, 2, 3)
STRIP_SCALES = (1, 2, 3)
# Drawn larger then reduced: Pillow does not anti-alias ellipses.
SUPERSAMPLE = 3
MAX_DRAWN_STAMPS = 30


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # Pillow built without FreeType: the bitmap font
        return ImageFont.load_default()


def _initial_badge(initial: str, size: int, background, foreground) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, big - 1, big - 1), fill=(*foreground, 255))
    font = _font(int(big * 0.55))
    draw.text((big / 2, big / 2), initial, fill=(*background, 255), font=font, anchor="mm")
    return image.resize((size, size), Image.LANCZOS)


def _fit(source: Image.Image, box: tuple[int, int]) -> Image.Image:
    image = source.copy()
    image.thumbnail(box, Image.LANCZOS)
    return image


@functools.lru_cache(maxsize=64)
def icon_images(logo_bytes: bytes | None, initial: str, background: str, foreground: str) -> dict[str, bytes]:
    """``icon.png``, ``icon@2x.png``, ``icon@3x.png``: the logo (or the initial) on the card colour, opaque."""
    bg, fg = hex_to_rgb(background), hex_to_rgb(foreground)
    source = _open(logo_bytes)
    files = {}
    for scale in ICON_SCALES:
        size = ICON_POINTS * scale
        canvas = Image.new("RGB", (size, size), bg)
        if source is not None:
            inner = _fit(source, (int(size * 0.84), int(size * 0.84)))
        else:
            inner = _initial_badge(initial, int(size * 0.84), bg, fg)
        canvas.paste(inner, ((size - inner.width) // 2, (size - inner.height) // 2), inner)
        files[_name("icon", scale)] = _png(canvas)
    return files


@functools.lru_cache(maxsize=64)
def logo_images(logo_bytes: bytes | None, initial: str, background: str, foreground: str) -> dict[str, bytes]:
    """``logo.png`` (+@2x, @3x): the logo fitted in 160×50 points, or a round badge with the initial."""
    bg, fg = hex_to_rgb(background), hex_to_rgb(foreground)
    source = _open(logo_bytes)
    if source is not None:
        width, height = _fit(source, LOGO_MAX_POINTS).size
    else:
        width = height = LOGO_MAX_POINTS[1]
    files = {}
    for scale in LOGO_SCALES:
        size = (width * scale, height * scale)
        if source is not None:
            image = source.resize(size, Image.LANCZOS)
        else:
            image = _initial_badge(initial, size[1], bg, fg)
        files[_name("logo", scale)] = _png(image)
    return files


@functools.lru_cache(maxsize=512)
def strip_images(stamps: int, target: int, background: str, foreground: str) -> dict[str, bytes]:
    """``strip.png`` (+@2x, @3x): ``target`` stamps, the first ``stamps`` filled, right of the primary field."""
    bg, fg = hex_to_rgb(background), hex_to_rgb(foreground)
    stamps = max(0, min(stamps, target))
    files = {}
    for scale in STRIP_SCALES:
        width, height = STRIP_POINTS[0] * scale, STRIP_POINTS[1] * scale
        big_width, big_height = width * SUPERSAMPLE, height * SUPERSAMPLE
        image = Image.new("RGB", (big_width, big_height), bg)
        draw = ImageDraw.Draw(image)
        band_height = big_height * STRIP_STAMP_BAND_POINTS / STRIP_POINTS[1]
        band_top = (big_height - band_height) / 2
        # The primary field ("7 / 10") is drawn by Wallet over the strip's left part.
        area = (
            int(big_width * 0.40),
            int(band_top + band_height * 0.10),
            int(big_width * 0.97),
            int(band_top + band_height * 0.90),
        )
        if target <= MAX_DRAWN_STAMPS:
            _draw_stamp_grid(draw, area, stamps, target, bg, fg)
        else:
            _draw_progress_bar(draw, area, stamps, target, fg)
        files[_name("strip", scale)] = _png(image.resize((width, height), Image.LANCZOS))
    return files


def _draw_stamp_grid(draw, area, stamps, target, bg, fg) -> None:
    left, top, right, bottom = area
    rows = 1 if target <= 5 else 2 if target <= 12 else 3
    per_row = math.ceil(target / rows)
    cell = min((right - left) / per_row, (bottom - top) / rows)
    radius = cell * 0.40
    outline = max(int(cell * 0.07), 1)
    for index in range(target):
        row, column = divmod(index, per_row)
        centre_x = right - (per_row - column - 0.5) * cell
        centre_y = top + (bottom - top - rows * cell) / 2 + (row + 0.5) * cell
        box = (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)
        if index < stamps:
            draw.ellipse(box, fill=fg)
            tick = [
                (centre_x - radius * 0.45, centre_y + radius * 0.02),
                (centre_x - radius * 0.12, centre_y + radius * 0.35),
                (centre_x + radius * 0.48, centre_y - radius * 0.30),
            ]
            draw.line(tick, fill=bg, width=max(int(radius * 0.18), 1), joint="curve")
        else:
            draw.ellipse(box, outline=fg, width=outline)


def _draw_progress_bar(draw, area, stamps, target, fg) -> None:
    left, top, right, bottom = area
    middle = (top + bottom) / 2
    thickness = (bottom - top) * 0.18
    box = (left, middle - thickness, right, middle + thickness)
    draw.rounded_rectangle(box, radius=thickness, outline=fg, width=max(int(thickness * 0.25), 1))
    filled_right = left + (right - left) * stamps / target
    if stamps:
        draw.rounded_rectangle(
            (left, box[1], max(filled_right, left + 2 * thickness), box[3]), radius=thickness, fill=fg
        )


def _open(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # an unreadable upload falls back to the drawn default
    return image.convert("RGBA")


def _name(base: str, scale: int) -> str:
    return f"{base}.png" if scale == 1 else f"{base}@{scale}x.png"
