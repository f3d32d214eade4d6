"""Every registered model, every role: what each one sees, and 403/404 for the rest.

The matrix below is the back office's permission model written down; a model
registered without being added here fails ``test_every_registered_model_is_in_the_matrix``.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from loyalty.models import AdminAuditLog, LoyaltyCard, LoyaltyTransaction, Merchant
from staff.services.memberships import membership_groups_sync
from tests import factories
from tests.admin.conftest import logged_in
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

# label -> attribute of MerchantWorld holding an object of that model (None: not a merchant's model)
TENANT_OBJECTS = {
    "loyalty.merchant": "merchant",
    "loyalty.store": "store",
    "loyalty.customer": "customer",
    "loyalty.program": "program",
    "loyalty.merchantsettings": "settings",
    "loyalty.loyaltycard": "card",
    "loyalty.loyaltytransaction": "transaction",
    "loyalty.adminauditlog": "audit_entry",
    "loyalty.alert": "alert",
    "loyalty.campaign": "campaign",
    "staff.membership": "membership",
    "staff.staffpin": "pin",
    "staff.apitoken": "api_token",
    "wallet.applepass": "apple_pass",
    "wallet.googlewalletobject": "google_object",
}

# What each role's changelist answers (200 = sees it; 302 = sent to its own settings row).
OWNER_SEES = {
    "loyalty.store": 200,
    "loyalty.customer": 200,
    "loyalty.program": 200,
    "loyalty.merchantsettings": 302,
    "loyalty.loyaltycard": 200,
    "loyalty.loyaltytransaction": 200,
    "loyalty.adminauditlog": 200,
    "loyalty.alert": 200,
    "loyalty.campaign": 200,
    "staff.membership": 200,
    "staff.staffpin": 200,
    "staff.apitoken": 200,
}
MANAGER_SEES = {
    "loyalty.alert": 200,  # the alerts of their stores (loyalty.selectors.alerts.alerts_visible_to)
    "loyalty.loyaltycard": 200,
    "loyalty.loyaltytransaction": 200,
    "loyalty.campaign": 200,
    "staff.staffpin": 200,
}
OWNER_ADDS = {"loyalty.store", "loyalty.campaign", "staff.membership", "staff.staffpin"}
MANAGER_ADDS = {"loyalty.campaign", "staff.staffpin"}
PLATFORM_ADDS = {
    "loyalty.merchant",
    "loyalty.campaign",
    "loyalty.store",
    "loyalty.program",
    "loyalty.merchantsettings",
    "staff.membership",
    "staff.staffpin",
}


def registered_labels():
    return sorted(model._meta.label_lower for model in admin.site._registry)


def _url(model_label, view, *args):
    app_label, model_name = model_label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def _object(world, side, label):
    attribute = TENANT_OBJECTS[label]
    merchant_world = getattr(world, side)
    if attribute == "customer":
        return merchant_world.card.customer
    if attribute == "membership":
        return world.manager_membership if side == "alpha" else world.other_owner_membership
    return getattr(merchant_world, attribute)


def test_every_registered_model_is_in_the_matrix():
    ours = [label for label in registered_labels() if label.split(".")[0] in ("loyalty", "staff", "wallet")]
    assert sorted(ours) == sorted(TENANT_OBJECTS)


@pytest.mark.parametrize("label", registered_labels())
def test_owner_sees_own_merchant_and_gets_404_for_the_other(world, clients, label):
    client = clients["owner"]
    expected = OWNER_SEES.get(label, 403)
    assert client.get(_url(label, "changelist")).status_code == expected
    add_status = client.get(_url(label, "add")).status_code if f"admin:{label.replace('.', '_')}_add" else None
    if label == "loyalty.program":
        assert add_status == 302  # one program per merchant: sent to the existing one with a message
    else:
        assert add_status == (200 if label in OWNER_ADDS else 403)
    if label not in TENANT_OBJECTS:
        return
    own = _object(world, "alpha", label)
    other = _object(world, "beta", label)
    own_status = client.get(_url(label, "change", own.pk)).status_code
    assert own_status == (200 if label in OWNER_SEES else 403), label
    # Another merchant's object does not exist for this user, whatever the model.
    assert client.get(_url(label, "change", other.pk)).status_code == 404
    assert client.get(_url(label, "history", other.pk)).status_code == 404
    assert client.post(_url(label, "change", other.pk), {}).status_code == 404


@pytest.mark.parametrize("label", registered_labels())
def test_other_merchants_owner_is_scoped_to_their_merchant(world, clients, label):
    client = clients["other_owner"]
    assert client.get(_url(label, "changelist")).status_code == OWNER_SEES.get(label, 403)
    if label in TENANT_OBJECTS:
        assert client.get(_url(label, "change", _object(world, "alpha", label).pk)).status_code == 404


@pytest.mark.parametrize("label", registered_labels())
def test_manager_sees_pins_cards_and_transactions_of_their_stores_only(world, clients, label):
    client = clients["manager"]
    assert client.get(_url(label, "changelist")).status_code == MANAGER_SEES.get(label, 403)
    assert client.get(_url(label, "add")).status_code in ((200,) if label in MANAGER_ADDS else (403, 302))
    if label not in TENANT_OBJECTS:
        return
    if label in MANAGER_SEES:
        assert client.get(_url(label, "change", _object(world, "alpha", label).pk)).status_code == 200
    assert client.get(_url(label, "change", _object(world, "beta", label).pk)).status_code == 404


def test_manager_does_not_see_cards_of_another_store_of_the_merchant(world, clients):
    client = clients["manager"]
    other_store_card = world.alpha.second_store_card
    assert client.get(_url("loyalty.loyaltycard", "change", other_store_card.pk)).status_code == 404
    listing = client.get(_url("loyalty.loyaltycard", "changelist")).content.decode()
    assert world.alpha.card.card_number in listing
    assert other_store_card.card_number not in listing
    assert clients["owner"].get(_url("loyalty.loyaltycard", "change", other_store_card.pk)).status_code == 200


def test_one_rule_for_a_managers_cards_in_the_store_api_and_the_back_office(world, clients):
    # given a card whose home store (where its customer enrolled) is not the manager's
    card = world.alpha.second_store_card
    ledger = LoyaltyTransaction.objects.filter(card=card).count()
    till = client_for(world.manager, world.alpha.store)
    changelist = _url("loyalty.loyaltycard", "changelist")
    deactivate = {"action": "deactivate_cards", "_selected_action": [card.pk], "index": "0"}

    # when the manager tries both doors, then both say "no such card" and nothing changes
    api = till.post(f"/api/v1/store/loyalty/cards/{card.pk}/deactivate", {"reason": "x"}, format="json")
    assert (api.status_code, api.json()["error"]["code"]) == (404, "CARD_NOT_FOUND")
    assert clients["manager"].get(_url("loyalty.loyaltycard", "change", card.pk)).status_code == 404
    clients["manager"].post(changelist, deactivate)
    assert LoyaltyCard.objects.get(pk=card.pk).is_active
    assert LoyaltyTransaction.objects.filter(card=card).count() == ledger

    # and a manager of the card's home store may, through both doors
    station_manager = factories.make_user(
        "manager", world.alpha.merchant, stores=[world.alpha.second_store], username="alpha-station-manager"
    )
    membership_groups_sync(membership=station_manager.membership)
    back_office = logged_in(station_manager)
    assert back_office.get(_url("loyalty.loyaltycard", "change", card.pk)).status_code == 200
    api = client_for(station_manager, world.alpha.second_store).post(
        f"/api/v1/store/loyalty/cards/{card.pk}/deactivate", {"reason": "Lost"}, format="json"
    )
    assert api.status_code == 201 and not LoyaltyCard.objects.get(pk=card.pk).is_active
    back_office.post(changelist, {**deactivate, "action": "reactivate_cards"})
    assert LoyaltyCard.objects.get(pk=card.pk).is_active


@pytest.mark.parametrize("label", registered_labels())
def test_staff_account_cannot_enter_the_back_office(world, clients, label):
    response = clients["staff"].get(_url(label, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_account_is_refused_at_the_login_form_even_with_is_staff(world, client):
    world.staff.is_staff = True  # set by hand: the role still decides
    world.staff.save()
    response = client.post(reverse("admin:login"), {"username": "alpha-staff", "password": "pass-1234-word"})
    assert response.status_code == 200
    assert "Please enter the correct" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_owner_and_manager_can_log_in(world, client):
    for username in ("alpha-owner", "alpha-manager"):
        response = client.post(
            reverse("admin:login"), {"username": username, "password": "pass-1234-word", "next": reverse("admin:index")}
        )
        assert response.status_code == 302, username
        assert client.get(reverse("admin:index")).status_code == 200
        client.logout()


def test_people_of_a_deactivated_merchant_are_out_of_the_back_office_at_once(world, clients, client):
    Merchant.objects.filter(pk=world.alpha.merchant.pk).update(is_active=False)

    assert clients["owner"].get(reverse("admin:index")).status_code == 302  # the open session stops
    response = client.post(reverse("admin:login"), {"username": "alpha-owner", "password": "pass-1234-word"})
    assert response.status_code == 200 and client.get(reverse("admin:index")).status_code == 302
    assert clients["superuser"].get(reverse("admin:index")).status_code == 200  # who switches it back on


@pytest.mark.parametrize("label", registered_labels())
def test_platform_admin_sees_everything(world, clients, label):
    client = clients["superuser"]
    assert client.get(_url(label, "changelist")).status_code == 200
    if label in TENANT_OBJECTS:
        for side in ("alpha", "beta"):
            assert client.get(_url(label, "change", _object(world, side, label).pk)).status_code == 200
        assert client.get(_url(label, "add")).status_code == (200 if label in PLATFORM_ADDS else 403)


def test_changelists_list_only_own_merchant_rows(world, clients):
    client = clients["owner"]
    for label, text_of in {
        "loyalty.loyaltycard": lambda side: side.card.card_number,
        "loyalty.customer": lambda side: side.card.customer.email,
        "loyalty.store": lambda side: side.store.code,
        "staff.staffpin": lambda side: side.pin.name,
        "loyalty.loyaltytransaction": lambda side: side.card.card_number,
    }.items():
        page = client.get(_url(label, "changelist")).content.decode()
        assert text_of(world.alpha) in page, label
        assert text_of(world.beta) not in page, label


def test_related_filters_and_choices_offer_only_own_stores(world, clients):
    client = clients["owner"]
    page = client.get(_url("loyalty.loyaltytransaction", "changelist")).content.decode()
    assert world.alpha.store.name in page
    assert world.beta.store.name not in page
    assert world.beta.pin.name not in page
    add_pin = client.get(_url("staff.staffpin", "add")).content.decode()
    assert f'value="{world.alpha.store.pk}"' in add_pin
    assert f'value="{world.beta.store.pk}"' not in add_pin
    # The manager picks only among their own stores.
    manager_add = clients["manager"].get(_url("staff.staffpin", "add")).content.decode()
    assert f'value="{world.alpha.store.pk}"' in manager_add
    assert f'value="{world.alpha.second_store.pk}"' not in manager_add


def test_a_hand_typed_filter_on_another_merchants_store_shows_nothing(world, clients):
    url = _url("loyalty.loyaltycard", "changelist") + f"?enrolled_store__id__exact={world.beta.store.pk}"
    page = clients["owner"].get(url).content.decode()
    assert world.beta.card.card_number not in page


def test_autocomplete_answers_with_own_merchant_objects_only(world, clients):
    response = clients["owner"].get(
        reverse("admin:autocomplete"),
        {"app_label": "loyalty", "model_name": "loyaltycard", "field_name": "customer", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert world.alpha.card.customer_id in ids
    assert world.beta.card.customer_id not in ids


def test_owner_adds_a_store_to_their_own_merchant_and_sees_its_links(world, clients):
    from loyalty.models import AdminAuditLog, Store

    response = clients["owner"].post(
        reverse("admin:loyalty_store_add"),
        {
            "name": "Alpha airport",
            "code": "alpha-airport",
            "address": "",
            "timezone": "Europe/Luxembourg",
            "is_active": "on",
            # The opening-hours inline's management form, as the browser sends it (no hours).
            "opening_hours-TOTAL_FORMS": "0",
            "opening_hours-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    store = Store.objects.get(code="alpha-airport")
    assert store.merchant == world.alpha.merchant
    assert AdminAuditLog.objects.filter(
        object_type="loyalty.Store", action="create", merchant=world.alpha.merchant
    ).exists()
    page = clients["owner"].get(reverse("admin:loyalty_store_changelist")).content.decode()
    assert "/join/alpha-airport/" in page and "/join/alpha-airport/poster/" in page


def test_audit_log_is_read_only_for_superusers_too(world, clients):
    entry = world.alpha.audit_entry
    client = clients["superuser"]
    assert (
        client.post(reverse("admin:loyalty_adminauditlog_change", args=[entry.pk]), {"summary": "x"}).status_code == 403
    )
    assert (
        client.post(reverse("admin:loyalty_adminauditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:loyalty_adminauditlog_add")).status_code == 403


def test_behind_a_proxy_the_audit_log_records_the_client_address_not_the_proxy(world, clients, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    card = world.alpha.card

    clients["owner"].get(
        reverse("admin:loyalty_loyaltycard_change", args=[card.pk]),
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.50",  # the left one is the client's own claim
    )

    viewed = AdminAuditLog.objects.get(action="view", object_type="loyalty.LoyaltyCard", actor=world.owner)
    assert viewed.ip_address == "203.0.113.50"
