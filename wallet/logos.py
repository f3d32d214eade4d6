"""A program's uploaded logo, read once for whichever wallet draws its images from it."""

from loyalty.models import Program


def program_logo_bytes(program: Program) -> bytes | None:
    """The uploaded file's bytes; None without a logo or when the file cannot be read (the wallets' default then)."""
    if not program.logo:
        return None
    try:
        with program.logo.open("rb") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None
