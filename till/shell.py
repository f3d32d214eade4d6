"""The till's app shell: the static files the service worker keeps, and a version that changes with them.

The files are referred to by their plain names under ``STATIC_URL`` (not the
hashed names of the manifest storage): the ES modules import each other by
relative paths, which the storage does not rewrite. Freshness comes from the
service worker instead: its script carries the version (a hash of every shell
file), so any change to a file installs a new worker that fetches the new set
and drops the old cache.
"""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.templatetags.static import PrefixNode

SHELL_DIRECTORY = Path(settings.BASE_DIR) / "static" / "till"
SHELL_SUFFIXES = {".js", ".css", ".png", ".svg"}


def static_prefix() -> str:
    return PrefixNode.handle_simple("STATIC_URL")


def _shell_files() -> list[Path]:
    return sorted(
        path for path in SHELL_DIRECTORY.rglob("*") if path.is_file() and path.suffix in SHELL_SUFFIXES
    )


def _compute() -> tuple[str, tuple[str, ...]]:
    digest = hashlib.sha256()
    urls = []
    for path in _shell_files():
        relative = path.relative_to(SHELL_DIRECTORY.parent).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
        urls.append(static_prefix() + relative)
    return digest.hexdigest()[:16], tuple(urls)


_compute_once = cache(_compute)


def shell() -> tuple[str, tuple[str, ...]]:
    """(version, static URLs of the shell). Read once per process, or on every call with DEBUG (files change)."""
    return _compute() if settings.DEBUG else _compute_once()
