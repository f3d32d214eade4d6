"""The program logo Google shows: a square PNG Google crops to a circle.

Google asks for a square logo of at least 660×660 pixels and shows it as a
circle. An upload of any shape is fitted, its proportions kept, inside the
circle's inscribed square on the card's background colour, so nothing of it
is cut and nothing is stretched; without an upload (or with one that cannot
be read) the drawn default is sent.
"""

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw

LOGO_PIXELS = 660
# The largest square inside the circle Google cuts (side / √2), less a margin so the logo does not touch it.
CONTENT_SHARE = 0.66
DEFAULT_BACKGROUND = "#1F3A5F"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def default_logo_png() -> bytes:
    """A plain loyalty-card mark: a ring with a star in it, "a stamp"."""
    size = LOGO_PIXELS
    image = Image.new("RGB", (size, size), DEFAULT_BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 150, 510, 510), outline="#FFFFFF", width=36)
    centre, outer, inner = size / 2, 130, 55
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi / 2 + index * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre - radius * math.sin(angle)))
    draw.polygon(points, fill="#FFFFFF")
    return _png(image)


@lru_cache(maxsize=32)
def program_logo_png(logo_bytes: bytes, background: str) -> bytes | None:
    """The upload fitted and centred on a ``background`` square of 660 pixels; None if it cannot be read."""
    try:
        source = Image.open(io.BytesIO(logo_bytes))
        source.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    source = source.convert("RGBA")
    box = int(LOGO_PIXELS * CONTENT_SHARE)
    scale = min(box / source.width, box / source.height)  # up or down, proportions kept
    fitted = source.resize(
        (max(round(source.width * scale), 1), max(round(source.height * scale), 1)), Image.LANCZOS
    )
    canvas = Image.new("RGB", (LOGO_PIXELS, LOGO_PIXELS), background)
    canvas.paste(fitted, ((LOGO_PIXELS - fitted.width) // 2, (LOGO_PIXELS - fitted.height) // 2), fitted)
    return _png(canvas)
