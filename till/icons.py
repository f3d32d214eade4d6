"""Draw the till's app icons once: ``python -m till.icons`` writes the PNGs under static/till/icons/.

A stamp card (two rows of dots, some filled) on the till's blue. The PNGs are
committed; run this again only to change the drawing.
"""

from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (31, 58, 95)
WHITE = (255, 255, 255)
TARGET = Path(__file__).resolve().parent.parent / "static" / "till" / "icons"
SUPERSAMPLE = 4


def draw(size: int, *, safe_zone: float) -> Image.Image:
    """The icon at ``size`` pixels; ``safe_zone`` is the share of the side the card may use (maskable: 0.6)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGB", (big, big), BLUE)
    canvas = ImageDraw.Draw(image)
    card_width = big * safe_zone
    card_height = card_width * 0.62
    left, top = (big - card_width) / 2, (big - card_height) / 2
    canvas.rounded_rectangle(
        (left, top, left + card_width, top + card_height), radius=card_width * 0.08, fill=WHITE
    )
    columns, rows = 5, 2
    pitch = card_width / (columns + 0.6)
    radius = pitch * 0.34
    for row in range(rows):
        for column in range(columns):
            centre_x = left + pitch * (column + 0.8)
            centre_y = top + card_height * (0.34 + 0.34 * row)
            box = (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)
            if row * columns + column < 7:
                canvas.ellipse(box, fill=BLUE)
            else:
                canvas.ellipse(box, outline=BLUE, width=max(1, int(radius * 0.3)))
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, size, safe_zone in (
        ("icon-192.png", 192, 0.8),
        ("icon-512.png", 512, 0.8),
        ("maskable-512.png", 512, 0.6),  # Android crops maskable icons to a circle: keep the card inside
        ("apple-touch-icon.png", 180, 0.8),
    ):
        draw(size, safe_zone=safe_zone).save(TARGET / name, optimize=True)


if __name__ == "__main__":
    main()
