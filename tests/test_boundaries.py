"""The borders between the apps, as the code must keep them (see docs/architecture.md).

- loyalty reaches wallet through one module, ``loyalty/services/wallet.py``;
- wallet reads loyalty's data through loyalty selectors, never by querying its models;
- one wallet function writes ``wallet_needs_sync``;
- selectors never import services (shared types live in ``loyalty/domain``);
- wallet news leaves loyalty only after the database transaction commits.
"""

import ast
import re
from pathlib import Path

import pytest

from loyalty.models import LoyaltyCard
from loyalty.services.wallet import card_change_announce

ROOT = Path(__file__).resolve().parent.parent


def _python_files(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_loyalty_imports_wallet_only_through_its_one_door():
    offenders = {
        str(path.relative_to(ROOT))
        for path in _python_files("loyalty")
        if any(module == "wallet" or module.startswith("wallet.") for module in _imported_modules(path))
    }
    assert offenders == {"loyalty/services/wallet.py"}


def test_wallet_never_queries_loyalty_models_itself():
    """``LoyaltyCard.objects`` and the like belong to loyalty's selectors; wallet calls those."""
    pattern = re.compile(r"\b(LoyaltyCard|Program|Reward|Store|Customer|Merchant|LoyaltyTransaction)\.objects\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files("wallet")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line) and "wallet_needs_sync" not in line
    ]
    assert offenders == []


def test_one_function_writes_the_wallet_needs_sync_flag():
    writers = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in ("loyalty", "staff", "wallet")
        for path in _python_files(app)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"update\([^)]*wallet_needs_sync|\.wallet_needs_sync\s*=", line)
    ]
    assert writers == ["wallet/services.py:" + str(_line_of("wallet/services.py", "update(wallet_needs_sync=value)"))]


def _line_of(relative: str, text: str) -> int:
    lines = (ROOT / relative).read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


@pytest.mark.django_db(transaction=True)
def test_a_card_change_reaches_the_wallets_only_after_commit(card, monkeypatch):
    import wallet.services

    told = []
    monkeypatch.setattr(wallet.services, "card_changed", lambda *, card_id: told.append(card_id))
    from django.db import transaction

    with transaction.atomic():
        card_change_announce(card_id=card.pk)
        assert told == []  # not while the change can still be rolled back
    assert told == [card.pk]

    try:
        with transaction.atomic():
            card_change_announce(card_id=card.pk)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert told == [card.pk]  # a rolled-back change is never announced
    assert LoyaltyCard.objects.filter(pk=card.pk, wallet_needs_sync=False).exists()


def test_selectors_never_import_services():
    """Reads may be used by writes, never the other way round: shared types live in ``loyalty/domain``."""
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for app in ("loyalty", "staff", "wallet")
        for path in (ROOT / app).rglob("selectors*/**/*.py")
        for module in _imported_modules(path)
        if ".services" in module or module.endswith("services")
    } | {
        f"{path.relative_to(ROOT)}: {module}"
        for app in ("loyalty", "staff", "wallet")
        for path in (ROOT / app).glob("selectors.py")
        for module in _imported_modules(path)
        if ".services" in module
    }
    assert offenders == set()
