"""CSV cells a spreadsheet would run as formulas are exported as text; numbers stay numbers."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from loyalty.csv_safety import FORMULA_TRIGGERS, SafeCsvWriter, csv_safe_cell


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_text_starting_with_a_formula_trigger_gets_a_leading_quote(trigger):
    assert csv_safe_cell(f"{trigger}1+1") == f"'{trigger}1+1"


@pytest.mark.parametrize(
    "value", ["Seán O'Brien", "order 42", "", "a=b", " =not at the start", "'already quoted", "2024-05-01T10:00:00"]
)
def test_ordinary_text_is_unchanged(value):
    assert csv_safe_cell(value) == value


@pytest.mark.parametrize("value", [-5, 0, 12, Decimal("-1.50"), -2.5, None, True])
def test_numbers_and_other_non_text_values_are_unchanged(value):
    assert csv_safe_cell(value) is value


def test_text_that_looks_like_a_negative_number_is_text_and_prefixed():
    assert csv_safe_cell("-5") == "'-5"


def test_the_writer_applies_it_to_every_cell_and_returns_the_written_line():
    class Echo:
        def write(self, value):
            return value

    line = SafeCsvWriter(Echo()).writerow(["=cmd|' /C calc'!A0", -5, "@SUM(A1)", "plain", None])

    assert list(csv.reader(io.StringIO(line))) == [["'=cmd|' /C calc'!A0", "-5", "'@SUM(A1)", "plain", ""]]


def test_writerows_writes_every_row_safely():
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerows([["+1", 1], ["-x", -1]])

    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'+1", "1"], ["'-x", "-1"]]


def test_no_module_writes_csv_around_the_helper():
    """One home for CSV cell safety: every writer goes through ``loyalty.csv_safety``."""
    root = Path(settings.BASE_DIR)
    skipped = {".venv", ".git", "tests", "node_modules", "var"}
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not skipped.intersection(path.relative_to(root).parts)
        and path != root / "loyalty" / "csv_safety.py"
        and any(call in path.read_text() for call in ("csv.writer", "csv.DictWriter", "from csv import"))
    ]

    assert offenders == []
