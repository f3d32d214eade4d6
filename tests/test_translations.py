"""The translation catalogs are complete, real and compiled.

Every catalog the project loads (``settings.LOCALE_PATHS``, app ``locale/``
directories) is checked for each language of ``settings.LANGUAGES``: no
empty and no fuzzy entry, a proper header, and a committed ``.mo`` that
says the same as its ``.po``. After ``make messages`` brings new strings
in, these tests fail until someone translates them.
"""

from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "de": "nplurals=2; plural=(n != 1);",
    "lb": "nplurals=2; plural=(n != 1);",
}
# Words that are the same in English and the other language ("Logo", "Code",
# "%(points)s points"...) are fine; a catalog where many entries equal their
# English msgid was copied, not translated.
MAX_SHARE_IDENTICAL_TO_ENGLISH = 0.15
SKIPPED_DIRECTORIES = {".venv", ".git", "var", "node_modules", "tests"}


def _catalogs() -> list[Path]:
    found = set()
    for locale_dir in settings.LOCALE_PATHS:
        found.update(Path(locale_dir).glob("*/LC_MESSAGES/django.po"))
    for top in ROOT.iterdir():  # app catalogs, e.g. wallet/google/locale
        if top.is_dir() and top.name not in SKIPPED_DIRECTORIES:
            found.update(top.glob("**/locale/*/LC_MESSAGES/django.po"))
    return sorted(found)


CATALOGS = _catalogs()


def _language(path: Path) -> str:
    return path.parent.parent.name


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _is_translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def test_each_language_has_a_project_catalog():
    project = {_language(path) for path in CATALOGS if path.is_relative_to(ROOT / "locale")}

    assert project == set(LANGUAGE_CODES)


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_catalog_has_no_untranslated_or_fuzzy_entry(path):
    catalog = polib.pofile(str(path))
    live = [entry for entry in catalog if not entry.obsolete]

    untranslated = [entry.msgid for entry in live if not _is_translated(entry)]
    fuzzy = [entry.msgid for entry in live if "fuzzy" in entry.flags]

    assert live, f"{_label(path)} is empty"
    assert untranslated == [], f"{_label(path)}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert fuzzy == [], f"{_label(path)}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_catalog_header_is_final_and_names_its_plural_rule(path):
    catalog = polib.pofile(str(path))
    language = _language(path)

    assert not catalog.metadata_is_fuzzy, f"{_label(path)}: the header is still marked fuzzy"
    assert catalog.metadata.get("Language") == language
    assert catalog.metadata.get("Content-Type") == "text/plain; charset=UTF-8"
    if language in PLURAL_FORMS:
        assert catalog.metadata.get("Plural-Forms") == PLURAL_FORMS[language]


@pytest.mark.parametrize("path", [p for p in CATALOGS if _language(p) != "en"], ids=_label)
def test_translations_are_not_english_copied_over(path):
    live = [entry for entry in polib.pofile(str(path)) if not entry.obsolete and not entry.msgid_plural]
    identical = [entry.msgid for entry in live if entry.msgstr == entry.msgid]

    assert len(identical) <= MAX_SHARE_IDENTICAL_TO_ENGLISH * len(live), identical


@pytest.mark.parametrize("path", CATALOGS, ids=_label)
def test_compiled_catalog_matches_its_source(path):
    """The committed .mo is what Django loads: it must say what the .po says."""
    compiled_path = path.with_suffix(".mo")
    assert compiled_path.exists(), f"{_label(path)} is not compiled (make translations)"
    source = polib.pofile(str(path))
    compiled = polib.mofile(str(compiled_path))

    def pairs(catalog, *, only_translated: bool):
        result = set()
        for entry in catalog:
            if entry.obsolete or not entry.msgid or (only_translated and "fuzzy" in entry.flags):
                continue
            if entry.msgid_plural:
                result.add((entry.msgctxt, entry.msgid, tuple(sorted(entry.msgstr_plural.items()))))
            elif entry.msgstr:
                result.add((entry.msgctxt, entry.msgid, entry.msgstr))
        return result

    assert pairs(compiled, only_translated=False) == pairs(source, only_translated=True), (
        f"{_label(compiled_path)} is older than its .po: run `make translations`"
    )
