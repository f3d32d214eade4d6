"""Staff PINs and memberships in the back office, through the staff services."""

from datetime import timedelta

import bcrypt
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from rest_framework.test import APIClient

from loyalty.exceptions import StaffPinInvalid, StaffPinLocked
from loyalty.models import AdminAuditLog
from staff.models import ApiToken, Membership, StaffPin, StorePinGuard
from staff.services.memberships import membership_groups_sync
from staff.services.pins import pin_verify
from staff.services.tokens import key_digest
from tests import factories
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def _pin_form(store, **fields):
    return {
        "store": store.pk,
        "name": "Robin",
        "staff_number": "",
        "pin": "2580",
        "pin_confirmation": "2580",
        "is_active": "on",
        **fields,
    }


def test_owner_creates_a_pin_through_the_service(world, clients):
    response = clients["owner"].post(reverse("admin:staff_staffpin_add"), _pin_form(world.alpha.store))
    assert response.status_code == 302
    created = StaffPin.objects.get(name="Robin")
    assert bcrypt.checkpw(b"2580", created.pin_hash.encode())
    assert pin_verify(store=world.alpha.store, pin="2580") == created


def test_pin_form_wants_the_pin_twice_and_in_digits(world, clients):
    url = reverse("admin:staff_staffpin_add")
    mismatch = clients["owner"].post(url, _pin_form(world.alpha.store, pin_confirmation="2581")).content.decode()
    assert "The two PINs differ." in mismatch
    letters = (
        clients["owner"].post(url, _pin_form(world.alpha.store, pin="12ab", pin_confirmation="12ab")).content.decode()
    )
    assert "A PIN is 4 to 8 digits." in letters
    assert not StaffPin.objects.filter(name="Robin").exists()


def test_a_pin_already_used_at_the_store_is_refused_with_a_message(world, clients):
    response = clients["owner"].post(
        reverse("admin:staff_staffpin_add"),
        _pin_form(world.alpha.store, pin="4321", pin_confirmation="4321"),
        follow=True,
    )
    assert "choose a different PIN" in response.content.decode()
    assert not StaffPin.objects.filter(name="Robin").exists()


def test_a_pin_already_used_at_the_store_is_refused_on_the_form_with_what_was_typed(world, clients):
    response = clients["owner"].post(
        reverse("admin:staff_staffpin_add"),
        _pin_form(world.alpha.store, name="Robin Duplicate", staff_number="S-77", pin="4321", pin_confirmation="4321"),
    )

    assert response.status_code == 200  # the form again, not a redirect to an empty one
    form = response.context["adminform"].form
    assert form.errors["pin"] == ["Another active PIN at this store is the same; choose a different PIN."]
    page = response.content.decode()
    assert 'value="Robin Duplicate"' in page and 'value="S-77"' in page
    assert "4321" not in page  # the PIN itself is never sent back
    assert not StaffPin.objects.filter(name="Robin Duplicate").exists()


def test_reactivating_a_pin_whose_value_another_pin_took_is_refused_on_the_form(world, clients):
    pin = world.alpha.pin
    StaffPin.objects.filter(pk=pin.pk).update(is_active=False)
    factories.make_pin(world.alpha.store, pin="4321", name="Took the value")

    response = clients["owner"].post(
        reverse("admin:staff_staffpin_change", args=[pin.pk]),
        {"name": pin.name, "staff_number": "", "pin": "", "pin_confirmation": "", "is_active": "on"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_active"] == [
        "Another active PIN at this store is the same; choose a different PIN."
    ]
    pin.refresh_from_db()
    assert not pin.is_active


def test_only_the_change_form_says_an_empty_pin_keeps_the_current_one(world, clients):
    hint = "Leave empty to keep the current PIN."
    add = clients["owner"].get(reverse("admin:staff_staffpin_add")).content.decode()
    change = clients["owner"].get(reverse("admin:staff_staffpin_change", args=[world.alpha.pin.pk])).content.decode()

    assert hint not in add and "4 to 8 digits, different from the other active PINs of the store." in add
    assert hint in change


def test_manager_cannot_create_a_pin_at_another_store(world, clients):
    response = clients["manager"].post(reverse("admin:staff_staffpin_add"), _pin_form(world.alpha.second_store))
    assert response.status_code == 200  # the store is not among the choices
    assert "Select a valid choice" in response.content.decode()
    assert not StaffPin.objects.filter(name="Robin").exists()


def test_changing_the_pin_and_name_is_audited_without_the_pin(world, clients):
    from loyalty.models import AdminAuditLog

    pin = world.alpha.pin
    url = reverse("admin:staff_staffpin_change", args=[pin.pk])
    response = clients["owner"].post(
        url, {"name": "Renamed", "staff_number": "7", "pin": "9876", "pin_confirmation": "9876", "is_active": "on"}
    )
    assert response.status_code == 302
    pin.refresh_from_db()
    assert pin.name == "Renamed" and bcrypt.checkpw(b"9876", pin.pin_hash.encode())
    entry = AdminAuditLog.objects.get(object_type="staff.StaffPin", action="change")
    assert entry.changes["pin"] == ["***", "***"]
    assert entry.changes["name"] == [f"{world.alpha.merchant.name} barista", "Renamed"]
    assert "9876" not in str(entry.changes) and pin.pin_hash not in str(entry.changes)


def test_leaving_the_pin_empty_keeps_it(world, clients):
    pin = world.alpha.pin
    old_hash = pin.pin_hash
    clients["owner"].post(
        reverse("admin:staff_staffpin_change", args=[pin.pk]),
        {"name": "Same", "staff_number": "", "pin": "", "pin_confirmation": "", "is_active": "on"},
    )
    pin.refresh_from_db()
    assert pin.pin_hash == old_hash and pin.name == "Same"


def test_no_pin_hash_or_digest_on_any_pin_page(world, clients):
    pin = world.alpha.pin
    pages = [
        clients["owner"].get(reverse("admin:staff_staffpin_changelist")),
        clients["owner"].get(reverse("admin:staff_staffpin_change", args=[pin.pk])),
        clients["manager"].get(reverse("admin:staff_staffpin_change", args=[pin.pk])),
        clients["superuser"].get(reverse("admin:staff_staffpin_change", args=[pin.pk])),
        clients["superuser"].get(reverse("admin:staff_staffpin_history", args=[pin.pk])),
        clients["owner"].get(reverse("admin:loyalty_adminauditlog_changelist")),
    ]
    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200
        assert pin.pin_hash not in text and pin.pin_hash[:29] not in text
        assert pin.lookup_digest not in text
        assert "4321" not in text


def test_unlock_and_deactivate_actions(world, clients):
    pin = world.alpha.pin
    StaffPin.objects.filter(pk=pin.pk).update(failed_attempts=5, locked_until=timezone.now() + timedelta(minutes=30))
    changelist = reverse("admin:staff_staffpin_changelist")
    listing = clients["manager"].get(changelist).content.decode()
    assert "Locked until" in listing and "Failed attempts" in listing and "Last used" in listing
    clients["manager"].post(changelist, {"action": "unlock_pins", "_selected_action": [pin.pk], "index": "0"})
    pin.refresh_from_db()
    assert (pin.failed_attempts, pin.locked_until) == (0, None)
    clients["owner"].post(changelist, {"action": "deactivate_pins", "_selected_action": [pin.pk], "index": "0"})
    pin.refresh_from_db()
    assert not pin.is_active


def test_a_locked_store_shows_in_the_pin_list_and_a_manager_unlocks_it(world, clients):
    # given: five wrong PINs at the till locked the store's PIN entry
    store = world.alpha.store
    for _ in range(5):
        with pytest.raises((StaffPinInvalid, StaffPinLocked)):  # the fifth one locks
            pin_verify(store=store, pin="9999")
    locked_until = StorePinGuard.objects.get(store=store).locked_until
    assert locked_until is not None and world.alpha.pin.locked_until is None  # the PIN itself was never named
    changelist = reverse("admin:staff_staffpin_changelist")

    # when: the manager opens the PIN list
    listing = clients["manager"].get(changelist)

    # then: the lockout and its end are said above the list and on the store's PIN
    page = listing.content.decode()
    shown_end = date_format(timezone.localtime(locked_until), "DATETIME_FORMAT")
    assert f"PIN entry at {store.name} is locked until {shown_end}" in page
    assert page.count(shown_end) == 2  # the message, and the "Locked until" column of the store's one PIN

    # when: the manager unlocks the store's PIN
    clients["manager"].post(
        changelist, {"action": "unlock_pins", "_selected_action": [world.alpha.pin.pk], "index": "0"}
    )

    # then: PIN entry is open again, and the list says nothing more
    assert StorePinGuard.objects.get(store=store).locked_until is None
    assert pin_verify(store=store, pin="4321") == world.alpha.pin
    assert "is locked until" not in clients["manager"].get(changelist).content.decode()


def test_a_store_lockout_is_not_shown_to_a_manager_of_other_stores(world, clients):
    StorePinGuard.objects.create(
        store=world.alpha.second_store, failed_attempts=5, locked_until=timezone.now() + timedelta(minutes=20)
    )

    manager_page = clients["manager"].get(reverse("admin:staff_staffpin_changelist")).content.decode()
    owner_page = clients["owner"].get(reverse("admin:staff_staffpin_changelist")).content.decode()

    assert "is locked until" not in manager_page  # the manager works at the centre only
    assert f"PIN entry at {world.alpha.second_store.name} is locked until" in owner_page


def test_owner_invites_a_manager_to_named_stores(world, clients):
    response = clients["owner"].post(
        reverse("admin:staff_membership_add"),
        {
            "username": "new-manager",
            "email": "new@example.com",
            "role": "manager",
            "stores": [world.alpha.second_store.pk],
            "password1": "a-long-first-password-42",
            "password2": "a-long-first-password-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    membership = Membership.objects.get(user__username="new-manager")
    assert membership.merchant == world.alpha.merchant and membership.role == "manager"
    assert list(membership.stores.all()) == [world.alpha.second_store]
    user = membership.user
    assert user.is_staff and user.check_password("a-long-first-password-42")
    assert list(user.groups.values_list("name", flat=True)) == ["Merchant managers"]
    assert user.has_perm("staff.add_staffpin") and not user.has_perm("loyalty.change_program")


def test_owner_cannot_create_an_owner_nor_use_another_merchants_store(world, clients):
    url = reverse("admin:staff_membership_add")
    data = {
        "username": "x-owner",
        "role": "owner",
        "stores": [world.alpha.store.pk],
        "password1": "a-long-first-password-42",
        "password2": "a-long-first-password-42",
    }
    assert "Select a valid choice" in clients["owner"].post(url, data).content.decode()
    data.update(role="staff", stores=[world.beta.store.pk])
    assert "Select a valid choice" in clients["owner"].post(url, data).content.decode()
    assert not get_user_model().objects.filter(username="x-owner").exists()


def test_narrowing_a_membership_revokes_tokens_of_stores_no_longer_covered(world, clients):
    membership = world.manager_membership
    membership.stores.add(world.alpha.second_store)
    kept = ApiToken.objects.create(
        user=world.manager, membership=membership, store=world.alpha.store, key_digest=key_digest("k1"), key_prefix="k1"
    )
    dropped = ApiToken.objects.create(
        user=world.manager,
        membership=membership,
        store=world.alpha.second_store,
        key_digest=key_digest("k2"),
        key_prefix="k2",
    )
    response = clients["owner"].post(
        reverse("admin:staff_membership_change", args=[membership.pk]),
        {"role": "manager", "stores": [world.alpha.store.pk], "is_active": "on"},
    )
    assert response.status_code == 302
    kept.refresh_from_db()
    dropped.refresh_from_db()
    assert kept.revoked_at is None and dropped.revoked_at is not None


def test_demoting_a_manager_to_staff_takes_the_back_office_away(world, clients):
    membership = world.manager_membership
    clients["owner"].post(
        reverse("admin:staff_membership_change", args=[membership.pk]),
        {"role": "staff", "stores": [world.alpha.store.pk], "is_active": "on"},
    )
    world.manager.refresh_from_db()
    assert not world.manager.is_staff and not world.manager.groups.exists()
    assert clients["manager"].get(reverse("admin:index")).status_code == 302


def test_owner_memberships_are_read_only_for_owners(world, clients):
    owner_membership = world.owner.membership
    response = clients["owner"].post(
        reverse("admin:staff_membership_change", args=[owner_membership.pk]),
        {"role": "staff", "stores": [], "is_active": ""},
    )
    assert response.status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.role == "owner" and owner_membership.is_active


def test_groups_come_from_the_migration_with_their_permissions():
    from django.contrib.auth.models import Group

    owners = set(Group.objects.get(name="Merchant owners").permissions.values_list("codename", flat=True))
    managers = set(Group.objects.get(name="Merchant managers").permissions.values_list("codename", flat=True))
    assert {"change_program", "add_store", "add_membership", "change_staffpin", "view_loyaltytransaction"} <= owners
    assert managers == {
        "view_loyaltycard",
        "change_loyaltycard",
        "view_loyaltytransaction",
        "view_staffpin",
        "add_staffpin",
        "change_staffpin",
        "view_campaign",
        "add_campaign",
        "change_campaign",
        "view_alert",  # the alerts of their stores (loyalty 0016)
        "change_alert",
    }
    assert {"view_campaign", "add_campaign", "change_campaign"} <= owners
    assert not any(
        codename.startswith(("add_loyaltytransaction", "change_loyaltytransaction", "delete_"))
        for codename in owners | managers
    )


# --- API tokens follow the password -----------------------------------------------------------------------------

NEW_PASSWORD = "Quiet-Harbour-5821"
STORE_API = "/api/v1/store/loyalty/"


def test_a_password_changed_by_the_platform_admin_stops_the_users_tokens(world, clients):
    till = client_for(world.manager, world.alpha.store)
    assert till.get(STORE_API + "program").status_code == 200

    response = clients["superuser"].post(
        reverse("admin:auth_user_password_change", args=[world.manager.pk]),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert till.get(STORE_API + "program").status_code == 401
    assert till.post(STORE_API + "cards/lookup", {"card_id": world.alpha.card.pk}, format="json").status_code == 401


def test_a_user_changing_their_own_password_stops_their_tokens(world, clients):
    till = client_for(world.manager, world.alpha.store)
    colleague = client_for(world.owner, world.alpha.store)

    response = clients["manager"].post(
        reverse("admin:password_change"),
        {"old_password": "pass-1234-word", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert till.get(STORE_API + "program").status_code == 401
    assert colleague.get(STORE_API + "program").status_code == 200  # another user's token is not touched
    assert clients["manager"].get(reverse("admin:index")).status_code == 200  # the session that changed it stays


# --- Sign out everywhere ----------------------------------------------------------------------------------------


def _sign_out_everywhere(client, membership):
    return client.post(
        reverse("admin:staff_membership_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [membership.pk], "index": "0"},
        follow=True,
    )


def test_sign_out_everywhere_revokes_the_tokens_and_ends_the_back_office_sessions(world, clients):
    # given the manager on two tills and in the back office, and a colleague's till
    tills = [client_for(world.manager, world.alpha.store) for _ in range(2)]
    colleague = client_for(world.staff, world.alpha.store)
    assert clients["manager"].get(reverse("admin:index")).status_code == 200

    # when the owner signs the manager out everywhere
    page = _sign_out_everywhere(clients["owner"], world.manager_membership).content.decode()

    # then the manager's tills and session are out, nobody else's
    assert "3 API token(s) revoked and 1 back-office session(s) ended." in page  # the world's till too
    for till in tills:
        assert till.get(STORE_API + "program").status_code == 401
    assert ApiToken.objects.filter(user=world.manager, revoked_at__isnull=True).count() == 0
    assert clients["manager"].get(reverse("admin:index")).status_code == 302  # to the login page
    assert colleague.get(STORE_API + "program").status_code == 200
    assert clients["owner"].get(reverse("admin:index")).status_code == 200
    assert AdminAuditLog.objects.filter(
        object_type="staff.Membership", object_id=str(world.manager_membership.pk), action="action"
    ).exists()


def test_an_owner_cannot_sign_out_another_owner(world, clients):
    fellow_owner = factories.make_user("owner", world.alpha.merchant, username="alpha-fellow-owner")
    membership_groups_sync(membership=fellow_owner.membership)
    till = client_for(fellow_owner, world.alpha.store)

    page = _sign_out_everywhere(clients["owner"], fellow_owner.membership).content.decode()

    assert "You cannot change this membership." in page
    assert till.get(STORE_API + "program").status_code == 200
    assert not ApiToken.objects.filter(user=fellow_owner, revoked_at__isnull=False).exists()


def test_another_merchants_membership_is_not_signed_out(world, clients):
    till = client_for(world.other_owner, world.beta.store)
    _sign_out_everywhere(clients["owner"], world.other_owner_membership)
    assert till.get(STORE_API + "program").status_code == 200
    assert clients["other_owner"].get(reverse("admin:index")).status_code == 200


# --- The API tokens page ----------------------------------------------------------------------------------------


def _token_url(view, *args):
    return reverse(f"admin:staff_apitoken_{view}", args=args)


def test_owner_lists_their_merchants_tokens_with_device_use_and_status(world, clients):
    alpha_token, beta_token = world.alpha.api_token, world.beta.api_token
    till = APIClient(HTTP_AUTHORIZATION=f"Token {world.alpha.api_token_key}")
    assert till.get(STORE_API + "program").status_code == 200  # records the last use

    page = clients["owner"].get(_token_url("changelist"))

    text = page.content.decode()
    assert page.status_code == 200
    for heading in ("User", "Role", "Store", "Device (User-Agent)", "Created", "Last used", "Expires at", "Status"):
        assert heading in text, heading
    assert "alpha-manager" in text and "Till/2.1 (iPad)" in text
    assert '<td class="field-role">Manager</td>' in text and '<td class="field-status">active</td>' in text
    assert ApiToken.objects.get(pk=alpha_token.pk).last_used_at is not None
    assert world.other_owner.username not in text  # merchant B's till
    assert clients["owner"].get(_token_url("change", beta_token.pk)).status_code == 404
    assert clients["owner"].get(_token_url("change", alpha_token.pk)).status_code == 200


def test_owner_revokes_a_till_token_and_it_stops(world, clients):
    till = client_for(world.staff, world.alpha.store)
    assert till.get(STORE_API + "program").status_code == 200

    response = clients["owner"].post(
        _token_url("changelist"),
        {"action": "revoke_tokens", "_selected_action": [till.token.pk], "index": "0"},
        follow=True,
    )

    assert "1 token(s) revoked." in response.content.decode()
    assert till.get(STORE_API + "program").status_code == 401
    assert ApiToken.objects.get(pk=world.alpha.api_token.pk).revoked_at is None  # only the one chosen
    assert AdminAuditLog.objects.filter(
        object_type="staff.ApiToken", object_id=str(till.token.pk), merchant=world.alpha.merchant
    ).exists()
    assert "revoked" in clients["owner"].get(_token_url("change", till.token.pk)).content.decode()


def test_revoking_another_merchants_token_changes_nothing(world, clients):
    beta_token = world.beta.api_token
    clients["owner"].post(
        _token_url("changelist"), {"action": "revoke_tokens", "_selected_action": [beta_token.pk], "index": "0"}
    )
    assert ApiToken.objects.get(pk=beta_token.pk).revoked_at is None
    assert clients["owner"].post(_token_url("change", beta_token.pk), {}).status_code == 404


def test_the_status_says_why_a_token_no_longer_works(world, clients):
    world.manager.set_password(NEW_PASSWORD)
    world.manager.save()
    page = clients["owner"].get(_token_url("change", world.alpha.api_token.pk)).content.decode()
    assert '<div class="readonly">password changed</div>' in page


def test_managers_do_not_see_the_tokens_page_and_platform_admins_see_every_token(world, clients):
    admin_api_token = client_for(world.superuser).token
    assert clients["manager"].get(_token_url("changelist")).status_code == 403
    assert clients["manager"].get(_token_url("change", world.alpha.api_token.pk)).status_code == 403

    text = clients["superuser"].get(_token_url("changelist")).content.decode()
    assert "alpha-manager" in text and world.other_owner.username in text
    assert _token_url("change", admin_api_token.pk) in text and "platform administrator" in text


def test_no_token_key_prefix_or_hash_on_the_token_pages(world, clients):
    token = world.alpha.api_token
    clients["owner"].post(
        _token_url("changelist"), {"action": "revoke_tokens", "_selected_action": [token.pk], "index": "0"}
    )
    pages = [
        clients["owner"].get(_token_url("changelist")),
        clients["owner"].get(_token_url("change", token.pk)),
        clients["owner"].get(_token_url("history", token.pk)),
        clients["owner"].get(reverse("admin:loyalty_adminauditlog_changelist")),
        clients["superuser"].get(_token_url("changelist")),
        clients["superuser"].get(_token_url("change", token.pk)),
    ]
    for response in pages:
        text = response.content.decode()
        assert response.status_code == 200
        for secret in (world.alpha.api_token_key, token.key_prefix, token.key_digest, token.password_fingerprint):
            assert secret not in text, response.request["PATH_INFO"]
