"""Edits of customers, stores, merchants and settings: validated, scoped, and seen by the wallets.

A pass shows the customer's name, the merchant's name and its stores: an edit
of one of those must reach the passes (here: Apple passes' change tags move,
so devices fetch them again), and only after the edit commits.
"""

import pytest

from loyalty.exceptions import NotFound, PermissionDenied, ValidationFailed
from loyalty.models import Customer, MerchantSettings
from loyalty.services.tenancy import (
    customer_update,
    merchant_settings_update,
    merchant_update,
    store_create,
    store_update,
)
from tests import factories
from tests.wallet.apple.conftest import apple_settings, dev_certificates  # noqa: F401  (Apple Wallet on)
from wallet.apple.services import apple_pass_get_or_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def passes(apple_settings, card, other_card):
    """The card and another merchant's card are both in Apple Wallet."""
    return apple_pass_get_or_create(card=card), apple_pass_get_or_create(card=other_card)


def _moved(apple_pass) -> bool:
    before = apple_pass.change_tag
    apple_pass.refresh_from_db()
    return apple_pass.change_tag > before


def test_renaming_a_customer_moves_their_pass_after_commit(passes, card, owner, django_capture_on_commit_callbacks):
    mine, theirs = passes
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_update(actor=owner, customer_id=card.customer_id, full_name="Seán O'Brien")
    assert not _moved(mine)  # nothing told before the commit
    for callback in callbacks:
        callback()
    assert _moved(mine)
    assert not _moved(theirs)
    assert Customer.objects.get(pk=card.customer_id).full_name == "Seán O'Brien"


def test_a_customer_edit_that_no_pass_shows_tells_no_wallet(passes, card, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        customer_update(actor=owner, customer_id=card.customer_id, phone="+352 621 000 000")
    assert callbacks == []
    assert not _moved(passes[0])


def test_renaming_a_store_or_opening_one_moves_every_pass_of_the_merchant(
    passes, store, owner, django_capture_on_commit_callbacks
):
    mine, theirs = passes
    with django_capture_on_commit_callbacks(execute=True):
        store_update(actor=owner, store_id=store.pk, name="Alpha Gare")
    assert _moved(mine) and not _moved(theirs)
    with django_capture_on_commit_callbacks(execute=True):
        created = store_create(actor=owner, name="Alpha Kirchberg", code="alpha-kirchberg", timezone="Europe/Luxembourg")
    assert created.merchant_id == store.merchant_id
    assert _moved(mine) and not _moved(theirs)


def test_renaming_a_merchant_moves_its_passes(passes, merchant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        merchant_update(user=factories.make_admin(), merchant_id=merchant.pk, name="Café Alpha & Fils")
    assert _moved(passes[0]) and not _moved(passes[1])


def test_only_owners_edit_and_only_their_own_merchant(card, other_card, store, owner):
    manager = factories.till_actor(store, role="manager")
    with pytest.raises(PermissionDenied):
        customer_update(actor=manager, customer_id=card.customer_id, full_name="X")
    with pytest.raises(NotFound):
        customer_update(actor=owner, customer_id=other_card.customer_id, full_name="X")
    with pytest.raises(NotFound):
        store_update(actor=owner, store_id=other_card.enrolled_store_id, name="X")
    with pytest.raises(PermissionDenied):
        merchant_update(user=None, merchant_id=store.merchant_id, name="X")
    assert Customer.objects.get(pk=other_card.customer_id).full_name != "X"


def test_invalid_values_are_refused_and_nothing_changes(store, owner):
    with pytest.raises(ValidationFailed) as refused:
        store_update(actor=owner, store_id=store.pk, timezone="Mars/Olympus")
    assert "timezone" in refused.value.details
    with pytest.raises(ValidationFailed):
        store_update(actor=owner, store_id=store.pk, code="renamed")  # printed on posters: set once
    store.refresh_from_db()
    assert (store.timezone, store.code) == ("Europe/Luxembourg", "alpha-center")


def test_settings_edit_goes_through_the_one_row(merchant, owner):
    row = merchant_settings_update(actor=owner, pin_max_failed_attempts=3, self_enrollment_open=False)
    assert MerchantSettings.objects.filter(merchant=merchant).count() == 1
    assert (row.pin_max_failed_attempts, row.self_enrollment_open) == (3, False)
