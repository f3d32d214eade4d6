"""Tenancy is a mechanism: every tenant model narrows to one merchant with ``for_merchant``.

The test discovers the models (any app, present and future) that declare
``MERCHANT_LOOKUP``, builds the same world for two merchants, and checks that
``for_merchant`` splits each table exactly along the merchant that each row
belongs to when walked object by object in Python.
"""

from datetime import UTC, datetime

import pytest
from django.apps import apps

from loyalty.domain.cards import CardRef
from loyalty.models import (
    AdminAuditLog,
    Customer,
    LoyaltyCard,
    LoyaltyTransaction,
    Merchant,
    MerchantSettings,
    Program,
    Reward,
    Store,
    TenantQuerySet,
)
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.audit import audit_record
from loyalty.services.points import points_earn
from staff.models import Membership, StaffPin, StorePinGuard
from staff.services.pins import pin_verify
from tests import factories

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)

# Models the loyalty and staff apps own: each must have rows for both merchants in the world below.
CORE_TENANT_MODELS = {
    Merchant, Store, Customer, Program, Reward, LoyaltyCard, LoyaltyTransaction, MerchantSettings,
    AdminAuditLog, Membership, StaffPin, StorePinGuard,
}


def tenant_models():
    return [model for model in apps.get_models() if hasattr(model, "MERCHANT_LOOKUP")]


def merchant_of(obj):
    """Walk ``MERCHANT_LOOKUP`` attribute by attribute, without the ORM filter under test."""
    lookup = type(obj).MERCHANT_LOOKUP
    if lookup == "pk":
        return obj
    for name in lookup.split("__"):
        obj = getattr(obj, name)
    return obj


def build_world(name):
    merchant = factories.make_merchant(name)
    store = factories.make_store(merchant)
    program = factories.make_program(merchant)
    factories.make_reward(program, "Cake", 50)
    card = factories.make_card(store)
    points_earn(actor=factories.till_actor(store), card_ref=CardRef(card_id=card.pk), purchase_amount_cents=900, now=NOW)
    pin = factories.make_pin(store, pin="2468")
    pin_verify(store=store, pin="2468", now=NOW)  # creates the store's lockout guard
    factories.make_user("manager", merchant, stores=[store])
    merchant_settings_get(merchant=merchant)
    audit_record(actor=None, action="view", obj=card, merchant=merchant)
    return merchant, pin


@pytest.fixture
def two_worlds(db):
    return build_world("Alpha"), build_world("Beta")


def test_core_models_are_tenant_models():
    assert CORE_TENANT_MODELS <= set(tenant_models())


@pytest.mark.parametrize("model", tenant_models(), ids=lambda model: model._meta.label)
def test_for_merchant_splits_each_tenant_table_by_owner(two_worlds, model):
    (alpha, _), (beta, _) = two_worlds
    assert isinstance(model._default_manager.all(), TenantQuerySet), f"{model._meta.label} needs TenantQuerySet"

    everything = set(model._default_manager.values_list("pk", flat=True))
    alpha_rows = set(model._default_manager.for_merchant(alpha).values_list("pk", flat=True))
    beta_rows = set(model._default_manager.for_merchant(beta).values_list("pk", flat=True))

    assert not model._default_manager.for_merchant(None).exists()
    assert alpha_rows.isdisjoint(beta_rows)
    assert alpha_rows | beta_rows == everything
    if model in CORE_TENANT_MODELS:
        assert alpha_rows and beta_rows, f"the test world has no {model._meta.label} rows"
    for obj in model._default_manager.filter(pk__in=alpha_rows):
        assert merchant_of(obj) == alpha
    for obj in model._default_manager.filter(pk__in=beta_rows):
        assert merchant_of(obj) == beta


def test_for_merchant_accepts_an_id(two_worlds):
    (alpha, _), _ = two_worlds
    assert set(LoyaltyCard.objects.for_merchant(alpha.pk)) == set(LoyaltyCard.objects.for_merchant(alpha))


def test_for_merchant_of_an_unsaved_merchant_gives_nothing(two_worlds):
    audit_record(actor=None, action="view", object_type="platform", merchant=None)  # a platform-level row
    assert not AdminAuditLog.objects.for_merchant(Merchant(name="draft")).exists()
    assert not LoyaltyCard.objects.for_merchant(Merchant(name="draft")).exists()
