"""English is the source language: make every English catalog say its msgid.

Run by `make messages` after makemessages. msgmerge marks new English entries
"fuzzy" with a neighbour's text; here each English entry simply gets its own
msgid (and msgid_plural), loses the fuzzy mark, and the header is made final.
Usage: python locale/fill_english.py [catalog.po ...] (default: every
*/locale/en/LC_MESSAGES/django.po outside .venv).
"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def english_catalogs():
    for path in sorted(ROOT.glob("**/locale/en/LC_MESSAGES/django.po")):
        if not {".venv", "var", "node_modules"} & set(path.relative_to(ROOT).parts):
            yield path


def fill(path: Path) -> int:
    catalog = polib.pofile(str(path), wrapwidth=0)
    changed = 0
    catalog.metadata_is_fuzzy = False
    catalog.metadata["Language"] = "en"
    catalog.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
    for entry in catalog:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            wanted = {0: entry.msgid, 1: entry.msgid_plural}
            if entry.msgstr_plural != wanted:
                entry.msgstr_plural = wanted
                changed += 1
        elif entry.msgstr != entry.msgid:
            entry.msgstr = entry.msgid
            changed += 1
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    catalog.save(str(path))
    return changed


if __name__ == "__main__":
    paths = [Path(argument) for argument in sys.argv[1:]] or list(english_catalogs())
    for path in paths:
        print(f"{path}: {fill(path)} English entries filled")
